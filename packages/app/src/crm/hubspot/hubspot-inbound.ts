import { createHash } from 'node:crypto';
import { HUBSPOT_DELIVERY, HUBSPOT_WORKFLOW, validateHubspotWebhookBatch, type WorkflowDelivery } from '@signalbox/connectors';
import { inboxRow } from '../../inbox/inbox-repository.js';
import type { InboxWriter } from '../../inbox/inbox-writer.js';

/**
 * What HubSpot sends, made durable in the one inbox before we answer (HubSpot allows 5 s): a
 * Webhooks API delivery is stored whole, as the text it came in (its shape checked first); a
 * "Send a webhook" workflow call as the event it names. The worker maps and resolves them later.
 */
export class HubspotInbound {
  constructor(private readonly d: { inbox: InboxWriter; now: () => number }) {}

  /**
   * A verified Webhooks API delivery. `signature` identifies this very request (the v3 signature
   * covers its body and timestamp): the same request again is a replay, refused (null) — kept in
   * the inbox itself, so it is refused after a restart too.
   */
  async acceptDelivery(raw: Buffer | string, body: unknown, signature: string): Promise<{ received: number } | null> {
    const events = validateHubspotWebhookBatch(body);
    const row = inboxRow(
      { source: 'hubspot', eventId: `delivery:${digest(signature)}`, type: HUBSPOT_DELIVERY, stage: 'raw', payload: null },
      this.d.now(),
      typeof raw === 'string' ? raw : raw.toString('utf8'),
    );
    const { accepted } = await this.d.inbox.acceptRows([row]);
    return accepted === 1 ? { received: events.length } : null;
  }

  /**
   * A "Send a webhook" workflow delivery: the event is named in the action's URL; HubSpot's retries
   * of it collapse. What names a delivery is everything the URL and body say (portal, object type,
   * object, event, body): the same body from another portal or for another object type is another
   * delivery.
   */
  async acceptWorkflow(w: Omit<WorkflowDelivery, 'occurredAt'>, raw: Buffer): Promise<{ accepted: number; duplicates: number }> {
    const named = JSON.stringify([w.portalId, w.objectType, w.objectId, w.event]);
    const deliveryId = `wf-${createHash('sha256').update(named).update('\u0000').update(raw).digest('hex').slice(0, 32)}`;
    const payload: WorkflowDelivery = { ...w, occurredAt: new Date(this.d.now()).toISOString() };
    return this.d.inbox.accept([{ source: 'hubspot', eventId: deliveryId, type: HUBSPOT_WORKFLOW, stage: 'raw', payload }], this.d.now());
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
