import { HubspotApiError, type HubspotCrm, PortalDisabledError } from '@signalbox/connectors';
import type { MessageRequest } from '@signalbox/engine';
import { SignalboxError } from '@signalbox/engine';
import type { Sender } from '../../delivery/sender.js';
import type { Logger } from '../../logger.js';
import { MESSAGE_SETTLED, MESSAGE_WENT } from '../../messages/status.js';
import { summariseDecision } from '../../messages/summarise.js';
import type { MessageRequests, MessageStore } from '../../requests/message-requests.js';
import type { CrmCallbacks } from '../crm-callbacks.js';
import type { CrmCalls } from '../crm-calls.js';

export interface WorkflowSend {
  callbackId: string;
  portalId: number;
  objectType: string;
  objectId: string;
  messageType: MessageRequest['type'];
  template?: string | undefined;
  purpose?: MessageRequest['purpose'] | undefined;
}

export type OutputFields = Record<string, string>;

/** A callback is completed once its message has settled (or, for sent, got that far). */
const SETTLED = [...new Set([...MESSAGE_SETTLED, ...MESSAGE_WENT])];

/**
 * The custom workflow action "Send via Signalbox": decided at once; a refusal answers
 * FAIL_CONTINUE with the reason, a message that will take time answers BLOCK, and its callback
 * is completed when the message settles (channel, outcome, decision reason, cost).
 */
export class WorkflowActions {
  constructor(
    private readonly d: {
      sender: Sender<MessageStore & { crmCallbacks: CrmCallbacks }>;
      requests: MessageRequests;
      crm: HubspotCrm;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** `calls` finds the contact where the portal's limiter lives. */
  async send(input: WorkflowSend, calls: CrmCalls): Promise<{ outputFields: OutputFields }> {
    let contactId: string | null;
    try {
      const [first] = await calls.contactsOf('hubspot', String(input.portalId), {
        type: input.objectType.toLowerCase(),
        id: input.objectId,
      });
      contactId = first ?? null;
    } catch (err) {
      // the documented failure shape, never a 5xx HubSpot would retry: the portal is not ours to call
      if (err instanceof PortalDisabledError)
        return fail('portal_not_installed', 'Signalbox is not installed in this portal (or was uninstalled): reinstall it');
      if (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429)
        return fail('hubspot_refused', `HubSpot refused the lookup: ${err.status} ${err.category}`);
      throw err;
    }
    if (contactId === null) return fail('no_contact', 'no contact on the enrolled record');
    const id = contactId;
    const key = `hubspot-action:${input.callbackId}`;
    const r = await this.d.sender
      .unit(async (u) => {
        const requested = await this.d.requests.request(
          u,
          id,
          {
            idempotencyKey: key,
            type: input.messageType,
            ...(input.template ? { template: input.template } : {}),
            ...(input.purpose ? { purpose: input.purpose } : {}),
            // a deal, ticket or invoice enrolled in the workflow is what the message is about (its content may show it)
            ...(input.objectType.toLowerCase() !== 'contact'
              ? { object: { type: input.objectType.toLowerCase(), id: input.objectId } }
              : {}),
            workflow: 'hubspot-workflow',
            priority: 'normal',
          },
          { checkTemplateAt: '/inputFields', typeAt: '/inputFields/messageType' },
        );
        if (requested.status === 'queued')
          await u.store.crmCallbacks.open('hubspot', String(input.portalId), input.callbackId, requested.messageId, this.d.now());
        return requested;
      })
      .catch((err: unknown) => {
        // the documented failure shape, not a 4xx HubSpot would retry
        if (err instanceof SignalboxError && err.code.startsWith('TEMPLATE_')) return fail(err.code.toLowerCase(), err.message);
        throw err;
      });
    if ('outputFields' in r) return r;
    const reason = summariseDecision(r.decision);
    if (r.status !== 'queued')
      return { outputFields: { hs_execution_state: 'FAIL_CONTINUE', outcome: r.status, decision_reason: reason, channel: '', cost: '0' } };
    return { outputFields: { hs_execution_state: 'BLOCK', message_id: r.messageId, decision_reason: reason } };
  }

  /** Completes blocked actions whose message has settled (a chore of the worker). */
  async completeSettled(store: { crmCallbacks: CrmCallbacks }, limit = 50): Promise<number> {
    const rows = await store.crmCallbacks.settled('hubspot', SETTLED, limit);
    for (const row of rows) {
      const ok = MESSAGE_WENT.includes(row.status);
      try {
        await this.d.crm.completeCallback(Number(row.account), row.callbackId, {
          hs_execution_state: ok ? 'SUCCESS' : 'FAIL_CONTINUE',
          channel: row.channel ?? '',
          outcome: row.status,
          decision_reason: summariseDecision(row.decision),
          cost: String(row.cost),
        });
        await store.crmCallbacks.close(row.callbackId, row.status, this.d.now());
      } catch (err) {
        // the portal uninstalled us, or HubSpot no longer takes this execution: nothing to retry
        if (
          err instanceof PortalDisabledError ||
          (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429)
        )
          await store.crmCallbacks.close(row.callbackId, `abandoned: ${(err as Error).message}`, this.d.now());
        this.d.log.warn({ callbackId: row.callbackId, err: (err as Error).message }, 'workflow callback not completed');
      }
    }
    return rows.length;
  }
}

const fail = (outcome: string, reason: string): { outputFields: OutputFields } => ({
  outputFields: { hs_execution_state: 'FAIL_CONTINUE', outcome, decision_reason: reason, channel: '', cost: '0' },
});
