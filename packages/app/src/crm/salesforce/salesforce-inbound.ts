import { createHash } from 'node:crypto';
import { type ParsedOutboundMessage, SALESFORCE_OUTBOUND } from '@signalbox/connectors';
import type { InboxWriter } from '../../inbox/inbox-writer.js';

/**
 * Outbound Messages made durable in the one inbox before the ACK: the message as parsed (no session
 * id: that is a live credential, never stored), keyed by its notifications, so a message Salesforce
 * sends again (it re-sends until it gets the ACK) is a duplicate, acknowledged and not applied again.
 */
export class SalesforceInbound {
  constructor(private readonly d: { inbox: InboxWriter; now: () => number }) {}

  async acceptOutbound(msg: ParsedOutboundMessage): Promise<{ notifications: number; duplicate: boolean }> {
    const ids = msg.notifications.map((n) => n.id).sort();
    const key = createHash('sha256').update(ids.join(',')).digest('base64url').slice(0, 32);
    const now = this.d.now();
    const { accepted } = await this.d.inbox.accept(
      [
        {
          source: 'salesforce',
          eventId: `om:${msg.organizationId}:${key}`,
          type: SALESFORCE_OUTBOUND,
          stage: 'raw',
          payload: { ...msg, receivedAt: new Date(now).toISOString() },
        },
      ],
      now,
    );
    return { notifications: msg.notifications.length, duplicate: accepted === 0 };
  }
}
