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
import { evaluateContacts } from './evaluate.js';
import { Impact } from './impact.js';

const AT = Date.parse('2026-11-23T09:00:00Z'); // 12:00 in Nairobi
const H = 3_600_000;
const rs = loadRuleset(DEFAULT_RULESET);
const CONTACT = JSON.stringify({ id: 'c-1', market: 'KE', timezone: 'Africa/Nairobi', smartphone: true, engagement: {} });

/** The baseline outcomes of a high-priority promotional message for a contact with this history. */
function outcomes(history: SnapshotPage['history']) {
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
  evaluateContacts(page, [parseMessageRequest({ type: 'promotional', team: 'sales', priority: 'high' })], AT, rs, rs, impact);
  return impact.data().groups[0]?.baseline;
}

describe('a dry run over the stored contacts', () => {
  it("lets a high-priority promotion through where a low-priority one only waits to go (the budget's give-way)", () => {
    const waiting = outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'low', false]]);
    expect(waiting).toMatchObject({ send: 1 });
    // the same message sent (or being sent: a step claimed) counts in full: the daily cap defers
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'sent', 'low', true]])).toMatchObject({ defer: 1 });
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'low', true]])).toMatchObject({ defer: 1 });
    // and one of the same priority does not give way
    expect(outcomes([['c-1', 'promotional', 'marketing', 'email', AT - H, 'queued', 'high', false]])).toMatchObject({ defer: 1 });
  });
});

describe.each(storeFactories)('the snapshot page: $name', (factory: StoreFactory) => {
  let opened: Awaited<ReturnType<StoreFactory['open']>>;
  beforeAll(async () => {
    opened = await factory.open();
  });
  afterAll(async () => opened?.dispose());

  it("carries each message's status, its request's priority and whether a step of it was claimed", async () => {
    const { store } = opened;
    const { contact } = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254700000001' }] }, AT - 2 * H);
    const promo = { type: 'promotional', purpose: 'marketing', team: 'sales' };
    await store.messages.create(
      newMessage('m-low', contact.id, null, { ...promo, request: { type: 'promotional', priority: 'low' } }),
      AT - H,
    );
    await store.messages.create(newMessage('m-claimed', contact.id, null, { ...promo, request: { type: 'promotional' } }), AT - H + 1);
    await store.attempts.claim({ messageId: 'm-claimed', step: 0, channel: 'sms', provider: 'sandbox' }, AT - H + 2);
    const page = await store.contactSnapshots.page(null, 10, {
      pressureSince: AT - 8 * 24 * H,
      eventsSince: AT - 90 * 24 * H,
      lasting: [],
      until: AT,
      pressureStatuses: MESSAGE_PRESSURE,
    });
    expect(page.history).toEqual([
      [contact.id, 'promotional', 'sales', null, AT - H, 'queued', 'low', false],
      [contact.id, 'promotional', 'sales', null, AT - H + 1, 'queued', null, true],
    ]);
  });
});
