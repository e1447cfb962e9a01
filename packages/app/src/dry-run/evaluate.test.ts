/**
 * A dry run reads a contact's history as a decision does: a message still waiting to go, and its
 * request's priority, change how the pressure budget counts it (a lower-priority message not sent
 * yet gives way to a more important one). Without them the dry run would hold back sends the
 * runtime lets through.
 */
import { DEFAULT_RULESET, loadRuleset, parseMessageRequest } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotPage } from '../contacts/contact-snapshots.js';
import { MESSAGE_PRESSURE } from '../messages/status.js';
import { newMessage, type StoreFactory, storeFactories } from '../store/testing.js';
import { evaluateContacts, evaluateReplay } from './evaluate.js';
import { Impact } from './impact.js';

const AT = Date.parse('2026-11-23T09:00:00Z'); // 12:00 in Nairobi
const H = 3_600_000;
const rs = loadRuleset(DEFAULT_RULESET);
const CONTACT = JSON.stringify({ id: 'c-1', market: 'KE', timezone: 'Africa/Nairobi', smartphone: true, engagement: {} });

/** The baseline outcomes of a high-priority promotional message for a contact with this history. */
function outcomes(history: SnapshotPage['history'], priority: 'normal' | 'high' = 'high') {
  const page: SnapshotPage = {
    contacts: [['c-1', CONTACT]],
    identities: [
      ['c-1', 'phone', '+254700000001'],
      ['c-1', 'email', 'amina@example.com'],
    ],
    consent: [['c-1', 'email', 'marketing', 'granted', 'form', AT - 30 * 24 * H]],
    history,
    events: [],
  };
  const impact = new Impact();
  evaluateContacts(page, [parseMessageRequest({ type: 'promotional', team: 'sales', priority })], AT, rs, rs, impact);
  return impact.data().groups[0]?.baseline;
}

describe('a dry run over the stored contacts', () => {
  it("lets a high-priority promotion through where a low-priority one only waits to go (the budget's give-way)", () => {
    const waiting = outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'low', null]]);
    expect(waiting).toMatchObject({ send: 1 });
    // the same message sent (or being sent: a step claimed) counts in full: the daily cap defers
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'sent', 'low', AT - H]])).toMatchObject({ defer: 1 });
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'low', AT - H]])).toMatchObject({ defer: 1 });
    // and one of the same priority does not give way
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'high', null]])).toMatchObject({ defer: 1 });
  });

  it('decided for a past moment, sees a message sent since as waiting to go then (counted)', () => {
    const sentLater: SnapshotPage['history'][number] = ['c-1', 'promotional', 'marketing', 'email', AT - 2 * H, 'sent', 'normal', AT + H];
    expect(outcomes([sentLater], 'normal')).toMatchObject({ defer: 1 });
  });

  it('counts a message from when it went: asked for two days ago, held back, sent an hour ago, it still fills the daily budget', () => {
    const twoDays = AT - 48 * H;
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', twoDays, 'sent', 'normal', AT - H]])).toMatchObject({ defer: 1 });
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', twoDays, 'sent', 'normal', twoDays]])).toMatchObject({ send: 1 });
  });
});

describe('a replay of past requests', () => {
  it('sees a message sent since as it was at each moment: not there yet, waiting to go (counted), sent (counted)', () => {
    const row: SnapshotPage['history'][number] = ['c-1', 'promotional', 'marketing', 'email', AT - 2 * H, 'sent', 'normal', AT - H];
    const replay = (at: number) => {
      const page: SnapshotPage = {
        contacts: [['c-1', CONTACT]],
        identities: [['c-1', 'email', 'amina@example.com']],
        consent: [['c-1', 'email', 'marketing', 'granted', 'form', AT - 30 * 24 * H]],
        history: [row],
        events: [],
      };
      const impact = new Impact();
      const request = parseMessageRequest({ type: 'promotional', team: 'sales' });
      evaluateReplay(page, [{ contactId: 'c-1', at, request }], rs, rs, impact);
      return impact.data().groups[0]?.baseline;
    };
    expect(replay(AT - 2.5 * H)).toMatchObject({ send: 1 });
    // asked for between the other's request and its send: it was waiting to go then, and counted
    expect(replay(AT - 1.5 * H)).toMatchObject({ defer: 1 });
    expect(replay(AT - 0.5 * H)).toMatchObject({ defer: 1 });
  });
});

describe.each(storeFactories)('the snapshot page: $name', (factory: StoreFactory) => {
  let opened: Awaited<ReturnType<StoreFactory['open']>>;
  beforeAll(async () => {
    opened = await factory.open();
  });
  afterAll(async () => opened?.dispose());

  it("carries each message's status, its request's priority and when its first step was claimed", async () => {
    const { store } = opened;
    const { contact } = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254700000001' }] }, AT - 2 * H);
    const promo = { type: 'promotional', purpose: 'marketing', team: 'sales' };
    await store.messages.create(
      newMessage('m-low', contact.id, null, { ...promo, request: { type: 'promotional', priority: 'low' } }),
      AT - H,
    );
    await store.messages.create(newMessage('m-claimed', contact.id, null, { ...promo, request: { type: 'promotional' } }), AT - H + 1);
    await store.attempts.claim({ messageId: 'm-claimed', step: 0, channel: 'sms', provider: 'sandbox' }, AT - H + 2);
    await store.attempts.claim({ messageId: 'm-claimed', step: 1, channel: 'email', provider: 'sandbox' }, AT - H + 5);
    const page = await store.contactSnapshots.page(null, 10, {
      pressureSince: AT - 8 * 24 * H,
      eventsSince: AT - 90 * 24 * H,
      lasting: [],
      until: AT,
      pressureStatuses: MESSAGE_PRESSURE,
    });
    expect(page.history).toEqual([
      [contact.id, 'promotional', 'sales', null, AT - H, 'queued', 'low', null],
      [contact.id, 'promotional', 'sales', null, AT - H + 1, 'queued', null, AT - H + 2],
    ]);
  });
});
