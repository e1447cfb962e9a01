import {
  HubspotApiError,
  type HubspotContact,
  type HubspotCrm,
  identitiesOf,
  normaliseHubspotEvents,
  PortalDisabledError,
  validateHubspotWebhookBatch,
} from '@signalbox/connectors';
import type { CompiledRuleset, CrmEvent, Decision } from '@signalbox/engine';
import { uuidv7 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import type { DbTokenStore } from './token-store.js';

const DAY = 86_400_000;
const FINAL_FOR_CALLBACK = ['sent', 'delivered', 'read', 'failed', 'undelivered', 'expired', 'cancelled', 'suppressed'];
const WRITTEN_BACK = ['sent', 'delivered', 'read'];

/** Our identity value for a HubSpot record: portal and id (ids are only unique within a portal). */
export const hubspotIdentity = (portalId: number | string, id: string) => `${portalId}:${id}`;

export interface HubspotServiceDeps {
  store: Store;
  runtime: Runtime;
  crm: HubspotCrm;
  tokens: DbTokenStore;
  ruleset: () => CompiledRuleset;
  log: Logger;
  now: () => number;
  /** How often the repair sweep runs per portal. */
  sweepEveryMs?: number;
}

/**
 * Everything Signalbox does with HubSpot after a request is answered: resolves webhook events to
 * contacts (through the CRM's associations) and hands them to the runtime's inbox, writes every
 * message to the contact's timeline as a Communication and keeps the `signalbox` properties,
 * completes blocked workflow actions, and syncs contacts (initial paging, then a modified-since
 * sweep that repairs missed webhooks), each resumable from a stored cursor.
 */
export class HubspotService {
  private loop: NodeJS.Timeout | null = null;
  private busy: Promise<number> | null = null;
  constructor(private readonly d: HubspotServiceDeps) {}

  // ------------------------------------------------------------------ inbound

  /**
   * Stores a verified Webhooks API delivery durably, as it came (one row: this is the hot path and
   * HubSpot waits at most 5 s). Mapping, deduplication (the runtime's inbox is unique on the event
   * id, across deliveries and retries) and contact resolution happen afterwards.
   */
  async acceptWebhookBatch(body: unknown, raw?: string): Promise<{ received: number }> {
    const events = validateHubspotWebhookBatch(body);
    const now = this.d.now();
    const portals = new Set(events.map((e) => e.portalId));
    await this.d.store.db
      .insertInto('crm_inbox')
      .values({
        id: `hubspot:delivery:${uuidv7(now)}`,
        crm: 'hubspot',
        portal_id: portals.size === 1 ? String(events[0]?.portalId) : '*',
        payload: raw ?? JSON.stringify(events),
        received_at: now,
        processed_at: null,
        next_at: now,
        error: null,
      })
      .execute();
    return { received: events.length };
  }

  /** A "Send a webhook" workflow delivery: the event is named in the action's URL. */
  async acceptWorkflowEvent(e: {
    portalId: number;
    objectType: string;
    objectId: string;
    event: string;
    deliveryId: string;
  }): Promise<{ accepted: number; duplicates: number }> {
    const now = this.d.now();
    const id = `hubspot:${e.portalId}:${e.deliveryId}`;
    const event: CrmEvent = {
      id,
      source: 'hubspot',
      type: e.event,
      occurredAt: new Date(now).toISOString(),
      object: { type: `hubspot.${e.objectType}`, id: e.objectId },
      data: { portalId: e.portalId, subscriptionType: `${e.objectType}.workflow`, objectId: Number(e.objectId) },
    };
    const r = await this.d.store.db
      .insertInto('crm_inbox')
      .values({
        id,
        crm: 'hubspot',
        portal_id: String(e.portalId),
        payload: JSON.stringify(event),
        received_at: now,
        processed_at: null,
        next_at: now,
        error: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    const accepted = Number(r.numInsertedOrUpdatedRows ?? 0n);
    return { accepted, duplicates: 1 - accepted };
  }

  /** After the OAuth callback: the property group, then the initial sync (in the background). */
  async onInstalled(portalId: number): Promise<void> {
    await this.d.crm.ensureProperties(portalId);
    await this.d.store.db
      .insertInto('crm_sync')
      .values({ crm: 'hubspot', portal_id: String(portalId), kind: 'initial', cursor: null, done: 0, count: 0, updated_at: this.d.now() })
      .onConflict((oc) => oc.columns(['crm', 'portal_id', 'kind']).doNothing())
      .execute();
    this.nudge();
  }

  /** The contact behind a HubSpot contact id: ours if synced, else fetched and stored now. */
  async contactFor(portalId: number, hubspotId: string): Promise<string | null> {
    const local = await this.d.store.findContactByIdentity('hubspot', hubspotIdentity(portalId, hubspotId));
    if (local !== null) return local.id;
    const c = await this.d.crm.getContact(portalId, hubspotId);
    return c === null ? null : this.upsertFromHubspot(portalId, c);
  }

  async upsertFromHubspot(portalId: number, c: HubspotContact, store: Store = this.d.store): Promise<string> {
    const r = await store.upsertContact(this.contactInput(portalId, c) as never, this.d.now());
    return r.contact.id;
  }

  /** Our contact record from HubSpot's: identities, time zone, and the market the phone number dials. */
  private contactInput(portalId: number, c: HubspotContact): Record<string, unknown> {
    const identities = identitiesOf(c).map((i) => (i.kind === 'hubspot' ? { ...i, value: hubspotIdentity(portalId, i.value) } : i));
    const tz = c.properties.hs_timezone;
    const phone = identities.find((i) => i.kind === 'phone')?.value;
    const market = phone === undefined ? undefined : marketOfPhone(phone, Object.keys(this.d.ruleset().source.markets));
    return {
      identities,
      ...(tz && /^[A-Za-z_]+\/[A-Za-z_/+-]+$/.test(tz) ? { timezone: tz } : {}),
      ...(market ? { market } : {}),
    };
  }

  /** One HubSpot event → the runtime's inbox, once per associated contact. Returns how many contacts. */
  private async applyCrmEvent(e: CrmEvent): Promise<number> {
    // a redelivered event is already in the runtime's inbox: no need to ask HubSpot about it again
    const known = await this.d.store.db
      .selectFrom('inbox')
      .select('id')
      .where('source', '=', 'hubspot')
      .where((eb) => eb.or([eb('event_id', '=', e.id), eb.and([eb('event_id', '>', `${e.id}:`), eb('event_id', '<', `${e.id};`)])]))
      .limit(1)
      .executeTakeFirst();
    if (known !== undefined) return 1;
    const data = e.data as { portalId: number; subscriptionType: string; objectId: number };
    const objectType = data.subscriptionType.split('.')[0] as string;
    const objectId = String(data.objectId);
    let contactIds: string[];
    if (e.type === 'contact.merged' || objectType === 'contact') {
      const id =
        e.type === 'contact.deleted'
          ? ((await this.d.store.findContactByIdentity('hubspot', hubspotIdentity(data.portalId, objectId)))?.id ?? null)
          : await this.contactFor(data.portalId, objectId);
      contactIds = id === null ? [] : [id];
    } else {
      contactIds = [];
      for (const h of await this.d.crm.contactsOf(data.portalId, `${objectType}s`, objectId)) {
        const id = await this.contactFor(data.portalId, h);
        if (id !== null) contactIds.push(id);
      }
    }
    for (const contactId of contactIds) {
      await this.d.runtime.ingestEvent({
        id: contactIds.length === 1 ? e.id : `${e.id}:${contactId}`,
        source: 'hubspot',
        type: e.type,
        occurredAt: e.occurredAt,
        contact: { id: contactId },
        object: { type: objectType, id: `hubspot:${data.portalId}:${objectId}` },
        data: e.data,
      });
    }
    return contactIds.length;
  }

  /** Resolves pending webhook events to contacts and hands them to the runtime's inbox. */
  async processCrmInbox(limit = 50): Promise<number> {
    const now = this.d.now();
    const rows = await this.d.store.db
      .selectFrom('crm_inbox')
      .selectAll()
      .where('processed_at', 'is', null)
      .where('next_at', '<=', now)
      .orderBy('received_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    for (const row of rows) {
      const parsed = JSON.parse(row.payload) as CrmEvent | unknown[];
      // a Webhooks API delivery (mapped now, through the current eventMap) or one workflow event
      const events = Array.isArray(parsed)
        ? normaliseHubspotEvents(validateHubspotWebhookBatch(parsed), this.d.ruleset().source.eventMap).events
        : [parsed];
      try {
        let unresolved = 0;
        for (const e of events) if ((await this.applyCrmEvent(e)) === 0) unresolved++;
        await this.d.store.db
          .updateTable('crm_inbox')
          .set({ processed_at: this.d.now(), error: unresolved > 0 ? `${unresolved} event(s) had no contact` : null })
          .where('id', '=', row.id)
          .execute();
      } catch (err) {
        const message = (err as Error).message;
        const final = err instanceof PortalDisabledError || row.attempts >= 8;
        await this.d.store.db
          .updateTable('crm_inbox')
          .set({
            attempts: row.attempts + 1,
            error: message.slice(0, 500),
            next_at: this.d.now() + Math.min(300_000, 1000 * 2 ** row.attempts),
            ...(final ? { processed_at: this.d.now() } : {}),
          })
          .where('id', '=', row.id)
          .execute();
        this.d.log.warn({ crmEvent: row.id, err: message, final }, 'HubSpot event not resolved');
      }
    }
    return rows.length;
  }

  // ------------------------------------------------------------------ custom workflow action

  /**
   * "Send via Signalbox": decides at once. A refusal answers FAIL_CONTINUE with the reason; a
   * message that will take time answers BLOCK and the callback is completed when it settles.
   */
  async workflowSend(input: {
    callbackId: string;
    portalId: number;
    objectType: string;
    objectId: string;
    messageType: string;
    template?: string | undefined;
    purpose?: string | undefined;
  }): Promise<{ outputFields: Record<string, string> }> {
    const contactIds =
      input.objectType.toUpperCase() === 'CONTACT'
        ? [input.objectId]
        : await this.d.crm.contactsOf(input.portalId, `${input.objectType.toLowerCase()}s`, input.objectId);
    const hsContact = contactIds[0];
    const contactId = hsContact === undefined ? null : await this.contactFor(input.portalId, hsContact);
    if (contactId === null)
      return {
        outputFields: { hs_execution_state: 'FAIL_CONTINUE', outcome: 'no_contact', decision_reason: 'no contact on the enrolled record' },
      };
    const r = await this.d.runtime.requestMessage(contactId, {
      idempotencyKey: `hubspot-action:${input.callbackId}`,
      type: input.messageType as never,
      ...(input.template ? { template: input.template } : {}),
      ...(input.purpose ? { purpose: input.purpose as never } : {}),
      workflow: 'hubspot-workflow',
      priority: 'normal',
    } as never);
    const reason = summariseDecision(r.decision);
    if (r.status !== 'queued')
      return { outputFields: { hs_execution_state: 'FAIL_CONTINUE', outcome: r.status, decision_reason: reason, channel: '', cost: '0' } };
    await this.d.store.db
      .insertInto('crm_callbacks')
      .values({
        callback_id: input.callbackId,
        crm: 'hubspot',
        portal_id: String(input.portalId),
        message_id: r.messageId,
        completed_at: null,
        outcome: null,
        created_at: this.d.now(),
      })
      .onConflict((oc) => oc.column('callback_id').doNothing())
      .execute();
    return { outputFields: { hs_execution_state: 'BLOCK', message_id: r.messageId, decision_reason: reason } };
  }

  /** Completes blocked workflow actions whose message has settled. */
  async completeCallbacks(limit = 50): Promise<number> {
    const rows = await this.d.store.db
      .selectFrom('crm_callbacks')
      .innerJoin('messages', 'messages.id', 'crm_callbacks.message_id')
      .select([
        'crm_callbacks.callback_id',
        'crm_callbacks.portal_id',
        'messages.id as message_id',
        'messages.status',
        'messages.channel',
        'messages.cost',
        'messages.decision',
      ])
      .where('crm_callbacks.completed_at', 'is', null)
      .where('messages.status', 'in', FINAL_FOR_CALLBACK)
      .limit(limit)
      .execute();
    const close = (callbackId: string, outcome: string) =>
      this.d.store.db
        .updateTable('crm_callbacks')
        .set({ completed_at: this.d.now(), outcome })
        .where('callback_id', '=', callbackId)
        .execute();
    for (const row of rows) {
      const ok = WRITTEN_BACK.includes(row.status);
      try {
        await this.d.crm.completeCallback(Number(row.portal_id), row.callback_id, {
          hs_execution_state: ok ? 'SUCCESS' : 'FAIL_CONTINUE',
          channel: row.channel ?? '',
          outcome: row.status,
          decision_reason: summariseDecision(JSON.parse(row.decision) as Decision),
          cost: String(row.cost),
        });
        await close(row.callback_id, row.status);
      } catch (err) {
        if (err instanceof PortalDisabledError || (err instanceof HubspotApiError && [400, 404].includes(err.status))) {
          // the portal uninstalled us, or HubSpot no longer knows this execution: nothing to retry
          await close(row.callback_id, `abandoned: ${(err as Error).message}`.slice(0, 200));
        }
        this.d.log.warn({ callbackId: row.callback_id, err: (err as Error).message }, 'workflow callback not completed');
      }
    }
    return rows.length;
  }

  // ------------------------------------------------------------------ write-back

  /** Every sent message as a Communication on its HubSpot contact, and the contact's signalbox properties. */
  async writeBack(limit = 50): Promise<number> {
    const since = this.d.now() - 7 * DAY;
    const rows = await this.d.store.db
      .selectFrom('messages')
      .innerJoin('identities', (j) => j.onRef('identities.contact_id', '=', 'messages.contact_id').on('identities.kind', '=', 'hubspot'))
      .leftJoin('crm_writebacks', 'crm_writebacks.message_id', 'messages.id')
      .select([
        'messages.id',
        'messages.contact_id',
        'messages.channel',
        'messages.template',
        'messages.type',
        'messages.decision',
        'messages.updated_at',
        'identities.value as hs',
      ])
      .where('messages.status', 'in', WRITTEN_BACK)
      .where('messages.updated_at', '>=', since)
      .where('crm_writebacks.message_id', 'is', null)
      .orderBy('messages.updated_at')
      .limit(limit)
      .execute();
    for (const m of rows) {
      const [portal, hsId] = m.hs.split(':') as [string, string];
      const portalId = Number(portal);
      const decision = JSON.parse(m.decision) as Decision;
      const step = decision.plan.find((s) => s.channel === m.channel);
      const body = [
        `Signalbox sent "${m.template ?? m.type}" by ${m.channel ?? 'unknown channel'}`,
        step?.content ? `content: ${step.content}` : null,
        `why: ${summariseDecision(decision)}`,
      ]
        .filter(Boolean)
        .join('\n');
      try {
        const logged = await this.d.crm.logMessage(portalId, { contactId: hsId, channel: m.channel ?? 'unknown', body, at: m.updated_at });
        await this.d.store.db
          .insertInto('crm_writebacks')
          .values({
            message_id: m.id,
            crm: 'hubspot',
            portal_id: portal,
            crm_record_id: logged.id,
            status: logged.kind,
            error: null,
            updated_at: this.d.now(),
          })
          .onConflict((oc) => oc.column('message_id').doNothing())
          .execute();
        await this.updateProperties(portalId, hsId, m.contact_id, decision);
      } catch (err) {
        const e = err as Error;
        const permanent =
          err instanceof PortalDisabledError ||
          (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429);
        this.d.log.warn({ messageId: m.id, err: e.message, permanent }, 'timeline write-back failed');
        if (permanent)
          await this.d.store.db
            .insertInto('crm_writebacks')
            .values({
              message_id: m.id,
              crm: 'hubspot',
              portal_id: portal,
              crm_record_id: null,
              status: 'failed',
              error: e.message.slice(0, 500),
              updated_at: this.d.now(),
            })
            .onConflict((oc) => oc.column('message_id').doNothing())
            .execute();
      }
    }
    return rows.length;
  }

  private async updateProperties(portalId: number, hsId: string, contactId: string, last: Decision): Promise<void> {
    const now = this.d.now();
    const [history, consent] = await Promise.all([
      this.d.store.db
        .selectFrom('messages')
        .select(['channel', 'cost'])
        .where('contact_id', '=', contactId)
        .where('created_at', '>=', now - 30 * DAY)
        .where('status', 'in', ['sent', 'delivered', 'read'])
        .execute(),
      this.d.store.consentLedger(contactId),
    ]);
    const counts = new Map<string, number>();
    for (const h of history) if (h.channel) counts.set(h.channel, (counts.get(h.channel) ?? 0) + 1);
    const preferred = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    const latest = new Map<string, string>();
    for (const c of consent) latest.set(`${c.channel}/${c.purpose}`, c.status);
    await this.d.crm.updateContact(portalId, hsId, {
      signalbox_preferred_channel: preferred,
      signalbox_reachable_channels: [...new Set(last.plan.map((s) => s.channel))].join(', '),
      signalbox_consent_summary:
        [...latest]
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
          .slice(0, 1000) || 'defaults',
      signalbox_last_decision: summariseDecision(last).slice(0, 1000),
      signalbox_messages_30d: String(history.length),
      signalbox_cost_30d: history.reduce((s, h) => s + h.cost, 0).toFixed(4),
    });
  }

  // ------------------------------------------------------------------ sync

  /** Initial sync: all contacts, 100 per page, resumable from the stored cursor. Returns pages done. */
  async initialSync(portalId: number, maxPages = Number.POSITIVE_INFINITY): Promise<{ pages: number; contacts: number; done: boolean }> {
    const key = { crm: 'hubspot', portal_id: String(portalId), kind: 'initial' };
    const state = await this.d.store.db
      .selectFrom('crm_sync')
      .selectAll()
      .where('crm', '=', key.crm)
      .where('portal_id', '=', key.portal_id)
      .where('kind', '=', key.kind)
      .executeTakeFirst();
    if (state?.done === 1) return { pages: 0, contacts: state.count, done: true };
    let cursor = state?.cursor ?? undefined;
    let pages = 0;
    let count = state?.count ?? 0;
    const started = this.d.now();
    while (pages < maxPages) {
      const page = await this.d.crm.contactsPage(portalId, cursor);
      await this.d.store.transaction(async (s) => {
        for (const c of page.contacts) await this.upsertFromHubspot(portalId, c, s);
      });
      pages++;
      count += page.contacts.length;
      cursor = page.next;
      const done = cursor === undefined;
      await this.d.store.db
        .insertInto('crm_sync')
        .values({ ...key, cursor: cursor ?? null, done: done ? 1 : 0, count, updated_at: this.d.now() })
        .onConflict((oc) =>
          oc
            .columns(['crm', 'portal_id', 'kind'])
            .doUpdateSet({ cursor: cursor ?? null, done: done ? 1 : 0, count, updated_at: this.d.now() }),
        )
        .execute();
      if (done) {
        // the sweep starts where the initial sync started: what changed meanwhile is caught
        await this.d.store.db
          .insertInto('crm_sync')
          .values({
            crm: 'hubspot',
            portal_id: key.portal_id,
            kind: 'sweep',
            cursor: String(started),
            done: 0,
            count: 0,
            updated_at: this.d.now(),
          })
          .onConflict((oc) => oc.columns(['crm', 'portal_id', 'kind']).doNothing())
          .execute();
        return { pages, contacts: count, done: true };
      }
    }
    return { pages, contacts: count, done: false };
  }

  /** Modified-since sweep: repairs what webhooks missed. Moves its watermark forward as it goes. */
  async sweep(portalId: number): Promise<number> {
    const row = await this.d.store.db
      .selectFrom('crm_sync')
      .selectAll()
      .where('crm', '=', 'hubspot')
      .where('portal_id', '=', String(portalId))
      .where('kind', '=', 'sweep')
      .executeTakeFirst();
    if (row === undefined) return 0;
    let since = Number(row.cursor ?? 0);
    let after: string | undefined;
    let n = 0;
    for (;;) {
      const page = await this.d.crm.modifiedSince(portalId, since, after);
      for (const c of page.contacts) await this.upsertFromHubspot(portalId, c);
      n += page.contacts.length;
      const last = page.contacts.at(-1);
      if (page.next === undefined) {
        if (last !== undefined) since = Math.max(since, Date.parse(last.updatedAt));
        break;
      }
      after = page.next;
    }
    await this.d.store.db
      .updateTable('crm_sync')
      .set({ cursor: String(since), count: row.count + n, updated_at: this.d.now() })
      .where('crm', '=', 'hubspot')
      .where('portal_id', '=', String(portalId))
      .where('kind', '=', 'sweep')
      .execute();
    return n;
  }

  // ------------------------------------------------------------------ loop

  /** One round of everything; returns how much moved. */
  async round(): Promise<number> {
    return (await this.processCrmInbox()) + (await this.writeBack()) + (await this.completeCallbacks()) + (await this.syncRound());
  }

  private lastSweep = new Map<number, number>();

  /** A few pages of each unfinished initial sync, and the sweep when it is due. */
  private async syncRound(): Promise<number> {
    let moved = 0;
    const pending = await this.d.store.db
      .selectFrom('crm_sync')
      .select(['portal_id'])
      .where('crm', '=', 'hubspot')
      .where('kind', '=', 'initial')
      .where('done', '=', 0)
      .execute();
    const active = new Set(await this.d.tokens.activePortals());
    for (const p of pending) {
      const portalId = Number(p.portal_id);
      if (!active.has(portalId)) continue;
      try {
        moved += (await this.initialSync(portalId, 5)).pages;
      } catch (err) {
        this.d.log.warn({ portalId, err: (err as Error).message }, 'initial sync paused; will resume from its cursor');
      }
    }
    const every = this.d.sweepEveryMs ?? 15 * 60_000;
    for (const portalId of active) {
      if (this.d.now() - (this.lastSweep.get(portalId) ?? 0) < every) continue;
      this.lastSweep.set(portalId, this.d.now());
      try {
        await this.sweep(portalId);
      } catch (err) {
        this.d.log.warn({ portalId, err: (err as Error).message }, 'sweep failed; next round retries');
      }
    }
    return moved;
  }

  async runUntilIdle(maxRounds = 20): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.round()) === 0) return;
  }

  start(intervalMs = 500): void {
    if (this.loop !== null) return;
    this.loop = setInterval(() => this.kick(), intervalMs);
    this.loop.unref();
  }

  /** One round at a time: a round already running picks new work up itself. */
  private kick(): void {
    if (this.busy !== null) return;
    this.busy = this.round()
      .catch((err: unknown) => {
        this.d.log.error({ err: (err as Error).message }, 'HubSpot round failed');
        return 0;
      })
      .finally(() => {
        this.busy = null;
      });
  }

  /** New work arrived (a webhook batch, an install): start a round now if none is running. */
  nudge(): void {
    if (this.loop !== null) this.kick();
  }

  async stop(): Promise<void> {
    if (this.loop !== null) clearInterval(this.loop);
    this.loop = null;
    await this.busy;
  }
}

/** Country calling codes of the markets a ruleset may define (longest prefix wins). */
const DIAL_CODES: Record<string, string> = {
  KE: '254',
  NG: '234',
  IN: '91',
  DE: '49',
  UA: '380',
  PH: '63',
  BR: '55',
  US: '1',
  GB: '44',
  FR: '33',
  ES: '34',
  IT: '39',
  ZA: '27',
  GH: '233',
  UG: '256',
  TZ: '255',
  EG: '20',
  MX: '52',
  ID: '62',
  PK: '92',
  BD: '880',
  NL: '31',
  PL: '48',
  TR: '90',
};

/** The ruleset market whose calling code the E.164 number starts with, if any. */
export function marketOfPhone(phone: string, markets: readonly string[]): string | undefined {
  const digits = phone.replace(/^\+/, '');
  return markets
    .filter((m) => DIAL_CODES[m] !== undefined && digits.startsWith(DIAL_CODES[m] as string))
    .sort((a, b) => (DIAL_CODES[b] as string).length - (DIAL_CODES[a] as string).length)[0];
}

/** The reason behind a decision in one line an agent (or a workflow branch) can read. */
export function summariseDecision(d: Decision): string {
  const step = d.plan[0];
  const fired = d.reasons.filter((r) => r.rule).map((r) => r.rule);
  const head =
    d.outcome === 'suppress'
      ? `suppressed: ${
          d.reasons
            .filter((r) => r.code === 'suppressed' || r.code === 'no_reachable_channel' || r.code === 'cap_exceeded')
            .map((r) => r.message)
            .join('; ') || 'policy'
        }`
      : `${d.outcome} by ${step?.channel ?? '—'}${
          d.plan.length > 1
            ? ` (then ${d.plan
                .slice(1)
                .map((s) => s.channel)
                .join(', ')})`
            : ''
        }`;
  return fired.length > 0 ? `${head}; rules: ${[...new Set(fired)].join(', ')}` : head;
}
