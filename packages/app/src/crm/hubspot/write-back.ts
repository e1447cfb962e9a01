import { HubspotApiError, type HubspotCrm, PortalDisabledError } from '@signalbox/connectors';
import type { ConsentLedger } from '../../contacts/consent-ledger.js';
import type { Logger } from '../../logger.js';
import type { MessageRepository } from '../../messages/message-repository.js';
import { summariseDecision } from '../../messages/summarise.js';
import type { CrmWritebacks, PendingWriteback } from '../crm-writebacks.js';

const DAY = 86_400_000;

export interface WriteBackStore {
  crmWritebacks: CrmWritebacks;
  messages: MessageRepository;
  consent: ConsentLedger;
}

/**
 * Every message that went out as a Communication (SMS, WhatsApp) or a labelled note on its
 * HubSpot contact's timeline, and the contact's `signalbox_*` properties kept current. At least
 * once: a Communication takes no idempotency key, so a crash between creating it and recording
 * it can log a message twice.
 */
export class HubspotWriteBack {
  constructor(
    private readonly d: {
      crm: HubspotCrm;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** Writes back what is pending (a chore of the worker); returns how many it tried. */
  async run(store: WriteBackStore, limit = 50): Promise<number> {
    const rows = await store.crmWritebacks.pending('hubspot', 'hubspot', this.d.now() - 7 * DAY, limit);
    for (const m of rows) await this.one(store, m);
    return rows.length;
  }

  private async one(store: WriteBackStore, m: PendingWriteback): Promise<void> {
    const [portal, hsId] = m.crmIdentity.split(':') as [string, string];
    const portalId = Number(portal);
    const step = m.decision.plan.find((s) => s.channel === m.channel);
    const body = [
      `Signalbox sent "${m.template ?? m.type}" by ${m.channel ?? 'unknown channel'}`,
      step?.content ? `content: ${step.content}` : null,
      `why: ${summariseDecision(m.decision)}`,
    ]
      .filter(Boolean)
      .join('\n');
    try {
      const logged = await this.d.crm.logMessage(portalId, { contactId: hsId, channel: m.channel ?? 'unknown', body, at: m.updatedAt });
      await store.crmWritebacks.record(
        { messageId: m.messageId, crm: 'hubspot', account: portal, recordId: logged.id, status: logged.kind, error: null },
        this.d.now(),
      );
      await this.updateProperties(store, portalId, hsId, m);
    } catch (err) {
      const e = err as Error;
      const permanent =
        err instanceof PortalDisabledError ||
        (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429);
      this.d.log.warn({ messageId: m.messageId, err: e.message, permanent }, 'timeline write-back failed');
      if (permanent)
        await store.crmWritebacks.record(
          { messageId: m.messageId, crm: 'hubspot', account: portal, recordId: null, status: 'failed', error: e.message },
          this.d.now(),
        );
    }
  }

  private async updateProperties(store: WriteBackStore, portalId: number, hsId: string, m: PendingWriteback): Promise<void> {
    const [history, consent] = await Promise.all([
      store.messages.wentSince(m.contactId, this.d.now() - 30 * DAY),
      store.consent.of(m.contactId),
    ]);
    const counts = new Map<string, number>();
    for (const h of history) if (h.channel) counts.set(h.channel, (counts.get(h.channel) ?? 0) + 1);
    const preferred = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    const latest = new Map<string, string>();
    for (const c of consent) latest.set(`${c.channel}/${c.purpose}`, c.status);
    await this.d.crm.updateContact(portalId, hsId, {
      signalbox_preferred_channel: preferred,
      signalbox_reachable_channels: [...new Set(m.decision.plan.map((s) => s.channel))].join(', '),
      signalbox_consent_summary:
        [...latest]
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
          .slice(0, 1000) || 'defaults',
      signalbox_last_decision: summariseDecision(m.decision).slice(0, 1000),
      signalbox_messages_30d: String(history.length),
      signalbox_cost_30d: history.reduce((s, h) => s + h.cost, 0).toFixed(4),
    });
  }
}
