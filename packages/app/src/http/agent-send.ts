import type { MessageType, Purpose } from '@signalbox/engine';
import { summariseDecision } from '../messages/summarise.js';
import type { Runtime } from '../runtime.js';

/** What an agent asks for from a CRM record (the HubSpot card, the Salesforce panel). */
export interface AgentSendRequest {
  messageType: MessageType;
  template?: string | null | undefined;
  purpose?: Purpose | null | undefined;
}

/**
 * One send-from-CRM path: the request decided through the same policy as every other, recorded with
 * the CRM surface as its team and the agent as its workflow, and answered at once — 202 queued, or
 * 200 with the refusal, the hold or the deferral and every reason.
 */
export async function agentSend(
  d: { runtime: Runtime; nudge: () => void },
  contactId: string,
  body: AgentSendRequest,
  who: { team: string; agent: string },
): Promise<{ status: 200 | 202; body: Record<string, unknown> }> {
  const result = await d.runtime.sender.unit((u) =>
    d.runtime.requests.request(u, contactId, {
      type: body.messageType,
      ...(body.template ? { template: body.template } : {}),
      ...(body.purpose ? { purpose: body.purpose } : {}),
      team: who.team,
      workflow: `agent:${who.agent}`,
      priority: 'normal',
    }),
  );
  d.nudge();
  return {
    status: result.status === 'queued' ? 202 : 200,
    body: {
      messageId: result.messageId,
      status: result.status,
      outcome: result.decision.outcome,
      channel: result.decision.plan[0]?.channel ?? null,
      sendAt: result.decision.sendAt,
      reason: summariseDecision(result.decision),
      reasons: result.decision.reasons.map((x) => ({ code: x.code, channel: x.channel ?? null, message: x.message })),
    },
  };
}
