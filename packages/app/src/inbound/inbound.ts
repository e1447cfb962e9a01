import { type CompiledRuleset, foldConsent, type InboundMessage, mapEventType, PURPOSES, type Purpose } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { Sender } from '../delivery/sender.js';
import type { Unit } from '../delivery/unit.js';
import type { InboxStore } from '../inbox/inbox-processor.js';
import type { Logger } from '../logger.js';
import type { IdempotencyKeys } from '../messages/idempotency.js';
import type { MessageRequests } from '../requests/message-requests.js';
import { type KeywordAction, keywordOf, normaliseReply } from './keywords.js';

/** How far ahead of our clock a provider's time for an inbound message is believed (clocks drift). */
const FUTURE_SKEW_MS = 5 * 60_000;

/** The template each keyword's confirmation is sent with (template names are lower case). */
const CONFIRMATIONS: Record<KeywordAction, string> = {
  stop: 'keyword_stop_confirmation',
  stopAll: 'keyword_stop_all_confirmation',
  start: 'keyword_start_confirmation',
  help: 'keyword_help_confirmation',
};

export interface InboundResult {
  contactId: string | null;
  keyword: KeywordAction | null;
  event: string | null;
}

/** What an inbound message is applied with: the inbox's store, and the keys that make it apply once. */
export interface InboundStore extends InboxStore {
  idempotency: IdempotencyKeys;
}

/**
 * What contacts send us: every inbound message opens the channel's session window; consent
 * keywords change the ledger as the ruleset says (the confirmation goes out once); replies become
 * events (through the ruleset's `eventMap.provider`) that move journeys on.
 */
export class Inbound {
  constructor(
    private readonly d: {
      ruleset: () => CompiledRuleset;
      sender: Sender<InboundStore>;
      requests: MessageRequests;
      clock: Clock;
      log: Logger;
    },
  ) {}

  /**
   * Applies an inbound message once per provider and message id: a provider's retry (or a replayed
   * request: Twilio's signatures carry no time) gets the first answer and changes nothing, so an old
   * START sent again cannot undo a later STOP. The key is taken first, in the message's own
   * transaction: a copy applied at the same moment waits for it, then finds it taken.
   */
  receive(providerName: string, m: InboundMessage): Promise<InboundResult> {
    return this.d.sender.unit(async (u) => {
      const scope = `inbound:${providerName}`;
      const now = this.d.clock.now().getTime();
      const pending: InboundResult = { contactId: null, keyword: null, event: null };
      if (!(await u.store.idempotency.put(scope, m.id, { requestHash: '', status: 200, response: pending }, now))) {
        this.d.log.info({ provider: providerName, channel: m.channel }, 'inbound message seen before: not applied again');
        return ((await u.store.idempotency.get(scope, m.id))?.response as InboundResult | undefined) ?? pending;
      }
      const result = await this.receiveIn(u, providerName, m, now);
      await u.store.idempotency.settle(scope, m.id, result);
      return result;
    });
  }

  private async receiveIn(u: Unit<InboundStore>, providerName: string, m: InboundMessage, now: number): Promise<InboundResult> {
    const rs = this.d.ruleset();
    const kind = rs.source.channels[m.channel]?.address ?? 'phone';
    const contact = await u.store.contacts.findByIdentity(kind, m.from);
    if (contact === null) {
      this.d.log.info({ provider: providerName, channel: m.channel }, 'inbound from an unknown address ignored');
      return { contactId: null, keyword: null, event: null };
    }
    await u.store.contacts.lock(contact.id);
    // they wrote from it: the address is theirs and in use, whatever a provider said of it
    if (contact.unreachable?.some((x) => x.kind === kind) === true) await u.store.contacts.markReachable(kind, m.from);
    // a provider's time, but never later than ours (a clock ahead, or a forged date, would pin the
    // channel's last inbound time in the future and hold a WhatsApp window open)
    const at = Number.isFinite(Date.parse(m.at)) && Date.parse(m.at) <= now + FUTURE_SKEW_MS ? m.at : new Date(now).toISOString();
    // the latest word on the channel stands: a message that arrives late (a provider's retry of one
    // from yesterday) must not close a WhatsApp window a newer one opened
    // a contact who wrote on a channel that needs a capability of the handset (WhatsApp, Viber) has it
    const capability = rs.source.channels[m.channel]?.requires;
    await u.store.contacts.updateData(contact.id, now, (c) => {
      const capable =
        capability === undefined || c.capabilities?.[capability] === true
          ? c
          : { ...c, capabilities: { ...c.capabilities, [capability]: true } };
      const known = capable.lastInbound?.[m.channel];
      if (known !== undefined && Date.parse(known) >= Date.parse(at)) return capable;
      return { ...capable, lastInbound: { ...(capable.lastInbound ?? {}), [m.channel]: at } };
    });
    const raw = m.text ?? '';
    const text = normaliseReply(raw);
    const kw = rs.source.consent.keywords;
    // the provider's word on a keyword (its own opt-out handling, in its own words) stands where ours
    // has none or another; ours refines it where it says more (Twilio says STOP for STOPALL too)
    const ours = keywordOf(raw, kw);
    let keyword: KeywordAction | null = m.optOut === undefined ? ours : m.optOut === 'stop' && ours === 'stopAll' ? 'stopAll' : m.optOut;
    // START undoes a revocation: it grants back, on this channel, only what the revocation in force
    // took (what was allowed just before it; behind keyword revocations one after another — STOP
    // twice, STOP then STOP ALL — what was allowed before the first of them, never past a
    // revocation the CRM, an agent or the API made). A YES to a question from someone who never
    // opted out grants nothing and is a reply; after a STOP it restores service, not a marketing
    // consent the contact never gave (STOP records marketing revoked whether or not it was ever granted).
    // A provider's block of the channel (Twilio 21610: the contact replied STOP at the carrier) is
    // the contact's STOP too, and lasts until their START: every purpose it took comes back.
    let purposes: readonly Purpose[] = keyword === 'stop' || keyword === 'stopAll' || keyword === 'start' ? kw[keyword].purposes : [];
    if (keyword === 'start') {
      const ledger = await u.store.consent.of(contact.id);
      const defaults = rs.source.consent.defaults;
      const state = foldConsent(ledger, defaults);
      const blocked = PURPOSES.filter((p) => {
        const r = state.answer(m.channel, p).record;
        return r?.status === 'revoked' && r.source === 'provider';
      });
      purposes = [...new Set([...purposes, ...blocked])].filter((p) => {
        let record = state.answer(m.channel, p).record;
        if (record?.status !== 'revoked') return false;
        for (let guard = 0; record?.status === 'revoked' && guard <= ledger.length; guard++) {
          const at = Date.parse(record.at);
          const before = foldConsent(
            ledger.filter((r) => Date.parse(r.at) < at),
            defaults,
          );
          if (before.allows(m.channel, p)) return true;
          // further back only past the contact's own STOPs (by keyword, or at the provider): a
          // revocation the CRM, an agent or the API made before them stands
          record = before.answer(m.channel, p).record;
          if (record?.source !== 'keyword' && record?.source !== 'provider') return false;
        }
        return false;
      });
      if (purposes.length === 0) keyword = null;
    }
    if (keyword === 'stop' || keyword === 'stopAll' || keyword === 'start') {
      const action = kw[keyword];
      for (const purpose of purposes) {
        await u.store.consent.append(
          contact.id,
          {
            channel: action.scope === 'all' ? '*' : m.channel,
            purpose,
            status: keyword === 'start' ? 'granted' : 'revoked',
            source: 'keyword',
            // what the contact actually wrote, as evidence (the ledger is not logged)
            evidence: `${m.channel} "${raw.slice(0, 500)}" (${m.id})`,
            at,
          },
          now,
        );
      }
      await u.store.audit.record(
        `contact:${contact.id}`,
        `consent.${keyword}`,
        contact.id,
        { channel: m.channel, purposes, scope: action.scope },
        now,
      );
    }
    if (keyword !== null && m.optOut === undefined) {
      // the confirmation is transactional, on the channel the keyword came from and only there (someone
      // who just texted STOP is not called instead), once per inbound message; a provider that
      // handled the keyword has answered it already
      await this.d.requests.request(
        u,
        contact.id,
        {
          idempotencyKey: `keyword-reply:${m.channel}:${m.id}`,
          type: 'transactional',
          purpose: 'transactional',
          template: CONFIRMATIONS[keyword],
          workflow: 'consent-keywords',
          priority: 'normal',
        },
        { onlyChannel: m.channel },
      );
    }
    // replies (buttons, confirm/reschedule words) become events that move journeys on
    const mapped = mapEventType(rs.source.eventMap, 'provider', { keyword: text, payload: m.payload?.toUpperCase(), channel: m.channel });
    const type = mapped ?? (keyword === null ? 'reply.received' : null);
    if (type !== null) {
      const id = `inbound:${providerName}:${m.id}`;
      await u.store.inbox.accept(
        {
          source: 'provider',
          eventId: id,
          type,
          payload: {
            id,
            source: 'provider',
            type,
            occurredAt: at,
            contact: { id: contact.id },
            // `keyword`: the word the event map matched (CONFIRM, R); a free reply is text, not a keyword
            data: {
              channel: m.channel,
              keyword: mapped !== null ? text || null : null,
              payload: m.payload ?? null,
              text: raw.slice(0, 1000) || null,
            },
          },
        },
        now,
      );
    }
    return { contactId: contact.id, keyword, event: type };
  }
}
