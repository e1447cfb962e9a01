import type { CrmConnector, CrmRecordRef } from '@signalbox/connectors';
import type { ConsentLedger } from '../contacts/consent-ledger.js';
import type { Logger } from '../logger.js';
import type { MessageRepository } from '../messages/message-repository.js';
import { summariseDecision } from '../messages/summarise.js';
import type { CrmWritebacks, PendingWriteback } from './crm-writebacks.js';

const DAY = 86_400_000;

export interface WriteBackStore {
  crmWritebacks: CrmWritebacks;
  messages: MessageRepository;
  consent: ConsentLedger;
}

/**
 * Every message that went out, on its person's timeline in the CRM (a HubSpot Communication or
 * note, a Salesforce Task), and Signalbox's fields on the person kept current. Recorded per CRM
 * once written; a CRM that takes an idempotency key (Salesforce's external id) is never written
 * twice for one message, one that does not (HubSpot's Communications) can be after a crash.
 */
export class CrmWriteBack {
  constructor(
    private readonly d: {
      connector: CrmConnector;
      /** The person a CRM identity value names (`account:recordId`). */
      personOf: (identity: string) => { account: string; ref: CrmRecordRef } | null;
      now: () => number;
      log: Logger;
    },
  ) {}

  /** Writes back what is pending (a chore of the worker); returns how many messages it tried. */
  async run(store: WriteBackStore, limit = 200): Promise<number> {
    const crm = this.d.connector.crm;
    const rows = await store.crmWritebacks.pending(crm, crm, this.d.now() - 7 * DAY, limit);
    const byAccount = new Map<string, Array<{ m: PendingWriteback; ref: CrmRecordRef }>>();
    for (const m of rows) {
      const who = this.d.personOf(m.crmIdentity);
      if (who === null) {
        await store.crmWritebacks.record(
          { messageId: m.messageId, crm, account: '', recordId: null, status: 'failed', error: `not a ${crm} identity` },
          this.d.now(),
        );
        continue;
      }
      byAccount.set(who.account, [...(byAccount.get(who.account) ?? []), { m, ref: who.ref }]);
    }
    for (const [account, list] of byAccount) {
      const outcomes = await this.d.connector.logMessages(
        account,
        list.map(({ m, ref }) => ({
          messageId: m.messageId,
          person: ref,
          channel: m.channel ?? 'unknown',
          outcome: m.status,
          cost: m.cost,
          reason: summariseDecision(m.decision),
          label: m.template ?? m.type,
          ...(stepContent(m) ? { detail: stepContent(m) as string } : {}),
          at: m.updatedAt,
          ...(m.logged !== null ? { logged: { recordId: m.logged.recordId, kind: m.logged.kind } } : {}),
        })),
      );
      const written = new Set<string>();
      const asWritten = new Map(list.map(({ m }) => [m.messageId, m]));
      for (const o of outcomes) {
        if (o.recordId !== null) {
          written.add(o.messageId);
          await store.crmWritebacks.record(
            {
              messageId: o.messageId,
              crm,
              account,
              recordId: o.recordId,
              status: o.kind ?? 'logged',
              error: null,
              outcome: asWritten.get(o.messageId)?.status ?? null,
              cost: asWritten.get(o.messageId)?.cost ?? null,
            },
            this.d.now(),
          );
        } else {
          this.d.log.warn({ crm, messageId: o.messageId, err: o.error, permanent: o.permanent }, 'timeline write-back failed');
          // a record written before keeps its id: a failed rewrite is not a lost message
          if (o.permanent && list.find(({ m }) => m.messageId === o.messageId)?.m.logged == null)
            await store.crmWritebacks.record(
              { messageId: o.messageId, crm, account, recordId: null, status: 'failed', error: o.error },
              this.d.now(),
            );
        }
      }
      // the fields of each person written to, once per round
      const people = new Map(list.filter(({ m }) => written.has(m.messageId)).map(({ m, ref }) => [`${ref.type}:${ref.id}`, { m, ref }]));
      for (const { m, ref } of people.values()) {
        try {
          await this.writeFields(store, account, ref, m);
        } catch (err) {
          this.d.log.warn({ crm, err: (err as Error).message }, 'fields write-back failed');
        }
      }
    }
    return rows.length;
  }

  private async writeFields(store: WriteBackStore, account: string, ref: CrmRecordRef, m: PendingWriteback): Promise<void> {
    const [history, consent] = await Promise.all([
      store.messages.wentSince(m.contactId, this.d.now() - 30 * DAY),
      store.consent.of(m.contactId),
    ]);
    const counts = new Map<string, number>();
    for (const h of history) if (h.channel) counts.set(h.channel, (counts.get(h.channel) ?? 0) + 1);
    const latest = new Map<string, string>();
    for (const c of consent) latest.set(`${c.channel}/${c.purpose}`, c.status);
    await this.d.connector.writeFields(account, ref, {
      preferredChannel: [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null,
      reachableChannels: [...new Set(m.decision.plan.map((s) => s.channel))],
      consentSummary: [...latest].map(([k, v]) => `${k}: ${v}`).join('; '),
      lastDecision: summariseDecision(m.decision),
      messages30d: history.length,
      cost30d: history.reduce((s, h) => s + h.cost, 0),
    });
  }
}

/** The content variant the message went out with, on its channel. */
const stepContent = (m: PendingWriteback): string | undefined => m.decision.plan.find((s) => s.channel === m.channel)?.content;
