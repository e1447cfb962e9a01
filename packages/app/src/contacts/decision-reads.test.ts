import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewMessage } from '../messages/message-record.js';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { contextOf, eventReach, loadContext } from './context.js';
import type { DecisionState } from './decision-reads.js';

const T = Date.parse('2026-06-01T09:00:00Z');
const DAY = 86_400_000;
/** The default ruleset's reach: 90 days, and ticket and payment events however old. */
const REACH = eventReach(loadRuleset(DEFAULT_RULESET));

describe('decision reads in one statement (PostgreSQL)', () => {
  const factory = storeFactories.find((f) => f.name === 'postgres');
  if (factory === undefined) throw new Error('no PostgreSQL store factory');
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    const o = await factory.open();
    store = o.store;
    dispose = o.dispose;
  });
  afterAll(() => dispose());

  const message = (id: string, contactId: string, status: string, type = 'service', team: string | null = 'support') =>
    ({
      id,
      contactId,
      idempotencyKey: null,
      journeyInstanceId: null,
      journeyId: null,
      type,
      purpose: 'service',
      team,
      workflow: null,
      template: null,
      status,
      outcome: 'send',
      channel: status === 'queued' ? null : 'sms',
      cost: 0,
      request: { type },
      decision: { outcome: 'send' },
    }) as unknown as NewMessage;

  it('reads exactly what the statements apart read: identities (one unreachable), consent, pressure and events', async () => {
    const { contact } = await store.contacts.upsert(
      {
        identities: [
          { kind: 'phone', value: '+254711000001' },
          { kind: 'email', value: 'amina@example.com' },
          { kind: 'hubspot', value: 'hs-77' },
        ],
        locale: 'sw-KE',
        attributes: { plan: 'gold', 'lifetime.value': 1200 },
        tags: ['vip'],
      },
      T - 30 * DAY,
    );
    await store.contacts.markUnreachable('email', 'amina@example.com', 'hard bounce', T - 2 * DAY);
    await store.consent.append(
      contact.id,
      { channel: 'sms', purpose: 'marketing', status: 'granted', source: 'api', at: '2026-05-01T00:00:00Z' },
      T,
    );
    await store.consent.append(
      contact.id,
      {
        channel: 'sms',
        purpose: 'marketing',
        status: 'revoked',
        source: 'keyword',
        legalBasis: 'consent',
        evidence: 'STOP',
        at: '2026-05-20T00:00:00Z',
      },
      T,
    );
    // in the budget: sent and failed this week; out: cancelled, and a send from a month ago
    await store.messages.create(message('m-1', contact.id, 'sent', 'promo', 'marketing'), T - DAY);
    await store.messages.create(message('m-2', contact.id, 'failed', 'service', null), T - 2 * DAY);
    await store.messages.create(message('m-3', contact.id, 'cancelled'), T - DAY);
    await store.messages.create(message('m-4', contact.id, 'delivered'), T - 30 * DAY);
    await store.contactEvents.record(contact.id, {
      id: 'e-1',
      type: 'complaint.opened',
      at: T - 3 * DAY,
      object: { type: 'ticket', id: 't-1' },
      data: { severity: 'high' },
    });
    await store.contactEvents.record(contact.id, { id: 'e-2', type: 'invoice.paid', at: T - DAY, data: {} });
    await store.contactEvents.record(contact.id, { id: 'e-3', type: 'invoice.paid', at: T - 200 * DAY, data: {} });
    // of lasting types before the 90 days, the latest per type and object is all a window needs
    await store.contactEvents.record(contact.id, { id: 'e-4', type: 'invoice.paid', at: T - 300 * DAY, data: {} });
    await store.contactEvents.record(contact.id, {
      id: 'e-5',
      type: 'ticket.opened',
      at: T - 150 * DAY,
      object: { type: 'ticket', id: 't-9' },
      data: {},
    });
    await store.contactEvents.record(contact.id, {
      id: 'e-6',
      type: 'ticket.opened',
      at: T - 140 * DAY,
      object: { type: 'ticket', id: 't-9' },
      data: {},
    });

    expect(store.decisionReads.available).toBe(true);
    const together = await loadContext(store, contact.id, T, REACH);
    const apart = await loadContext(
      { contacts: store.contacts, consent: store.consent, contactEvents: store.contactEvents, messages: store.messages },
      contact.id,
      T,
      REACH,
    );
    expect(together).toEqual(apart);
    // and it is what was stored
    expect(together.contact.identities).toEqual([
      { kind: 'hubspot', value: 'hs-77' },
      { kind: 'phone', value: '+254711000001' },
    ]);
    expect(together.contact.unreachable).toMatchObject([{ kind: 'email', value: 'amina@example.com', reason: 'hard bounce' }]);
    expect(together.context.consent.map((c) => c.status)).toEqual(['granted', 'revoked']);
    expect(together.context.history.map((h) => h.type).sort()).toEqual(['promo', 'service']);
    // the payment 200 days ago too: a paid invoice stays paid (a window without forDays reads however far back)
    expect(together.context.events.map((e) => `${e.type} ${e.at.slice(0, 10)}`)).toEqual([
      `invoice.paid ${new Date(T - 200 * DAY).toISOString().slice(0, 10)}`,
      `ticket.opened ${new Date(T - 140 * DAY).toISOString().slice(0, 10)}`,
      `complaint.opened ${new Date(T - 3 * DAY).toISOString().slice(0, 10)}`,
      `invoice.paid ${new Date(T - DAY).toISOString().slice(0, 10)}`,
    ]);
    const within90 = await loadContext(store, contact.id, T, { days: 90, lasting: [] });
    expect(within90.context.events.map((e) => e.type)).toEqual(['complaint.opened', 'invoice.paid']);
  });

  it('a merged contact is read through the one it was merged into; an unknown one is not found', async () => {
    const a = await store.contacts.upsert({ identities: [{ kind: 'hubspot', value: 'hs-m1' }] }, T);
    const b = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254711000099' }] }, T);
    await store.contacts.upsert(
      {
        identities: [
          { kind: 'hubspot', value: 'hs-m1' },
          { kind: 'phone', value: '+254711000099' },
        ],
      },
      T + 1,
    );
    expect(await store.decisionReads.read(b.contact.id, ['sent'], 0, 0)).toBeNull();
    expect((await loadContext(store, b.contact.id, T, REACH)).contact.id).toBe(a.contact.id);
    expect(await store.decisionReads.read('01a20000-0000-7000-8000-000000000000', ['sent'], 0, 0)).toBeNull();
    await expect(loadContext(store, '01a20000-0000-7000-8000-000000000000', T, REACH)).rejects.toThrow(/not found/);
  });
});

describe('a history record dated after the decision', () => {
  it('counts as gone at the decision: a send another instance claimed with its clock a little ahead still fills the budget', () => {
    const now = T;
    const state = {
      contact: { id: 'c-1', identities: [], createdAt: now - DAY, updatedAt: now - DAY, unreachable: [] },
      consent: [],
      history: [
        { at: new Date(now + 400).toISOString(), type: 'promotional' as const },
        { at: new Date(now - DAY / 2).toISOString(), type: 'service' as const },
      ],
      events: [],
    } as unknown as DecisionState;
    const { context } = contextOf(state, now);
    expect(context.history.map((h) => h.at)).toEqual([new Date(now).toISOString(), new Date(now - DAY / 2).toISOString()]);
  });
});
