import type { MessageType, Purpose } from '@signalbox/engine';
import { z } from 'zod';
import { ConflictError } from '../errors.js';
import { summariseDecision } from '../messages/summarise.js';
import { isSameRequest } from '../requests/same-request.js';
import type { Runtime } from '../runtime.js';

/**
 * The key a CRM surface sends with one click of Send: letters, digits, `-`, `_`, `.`, `:`, 8–100
 * characters (a UUID fits). A retry with it (a timeout, a second click before the answer) gets the
 * first message's answer instead of a second message.
 */
export const agentIdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,100}$/, '8–100 letters, digits, "-", "_", "." or ":"')
  .nullish();

/** What an agent asks for from a CRM record (the HubSpot card, the Salesforce panel). */
export interface AgentSendRequest {
  messageType: MessageType;
  template?: string | null | undefined;
  purpose?: Purpose | null | undefined;
  idempotencyKey?: string | null | undefined;
}

/**
 * One send-from-CRM path: the request decided through the same policy as every other, recorded with
 * the CRM surface as its team and the agent as its workflow, and answered at once — 202 queued, or
 * 200 with the refusal, the hold or the deferral and every reason. With an idempotency key (scoped
 * to the CRM account: `who.account`), a retry answers with the message the key first made; the key
 * used for another contact or another request is refused (409 IDEMPOTENCY_KEY_REUSED).
 */
export async function agentSend(
  d: { runtime: Runtime; nudge: () => void },
  contactId: string,
  body: AgentSendRequest,
  who: { team: string; agent: string; account: string },
): Promise<{ status: 200 | 202; replayed: boolean; body: Record<string, unknown> }> {
  const key = body.idempotencyKey ? `agent:${who.team}:${who.account}:${body.idempotencyKey}` : undefined;
  const result = await d.runtime.sender.unit(async (u) => {
    const requested = await d.runtime.requests.request(
      u,
      contactId,
      {
        type: body.messageType,
        ...(body.template ? { template: body.template } : {}),
        ...(body.purpose ? { purpose: body.purpose } : {}),
        team: who.team,
        workflow: `agent:${who.agent}`,
        priority: 'normal',
        ...(key !== undefined ? { idempotencyKey: key } : {}),
      },
      { checkTemplateAt: '', typeAt: '/messageType' },
    );
    if (!requested.created) {
      const first = await u.store.messages.get(requested.messageId);
      if (!isSameRequest(first, contactId, { type: body.messageType, template: body.template, purpose: body.purpose }))
        throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for another send', [
          { path: '/idempotencyKey', message: 'a new send takes a new key' },
        ]);
    }
    return requested;
  });
  if (result.created) d.nudge();
  const decision = result.decision;
  return {
    // what the first answer said, on a retry too: 202 for a message on its way (now or later)
    status: decision.outcome === 'send' || decision.outcome === 'defer' ? 202 : 200,
    replayed: !result.created,
    body: {
      messageId: result.messageId,
      status: result.status,
      outcome: decision.outcome,
      channel: decision.plan[0]?.channel ?? null,
      sendAt: decision.sendAt,
      reason: summariseDecision(decision),
      reasons: decision.reasons.map((x) => ({ code: x.code, channel: x.channel ?? null, message: x.message })),
    },
  };
}
