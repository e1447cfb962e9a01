/**
 * pnpm bench (agent card at scale): the embedded profile's database with 1,000,000 contacts (three
 * identities each) and 200,000 pending timers (one queued message each, on 200,000 contacts), seeded
 * in bulk; then the agent card (the contact found by its HubSpot identity, then the card's view) for
 * contacts drawn at random, half of them with a timer. Printed: the card's p50/p99, and in the same
 * run the card's old read of timers (every pending timer in due order, filtered on the refs of the
 * contact's messages) against the one by `timers_contact`, as a ratio.
 * BENCH_CARD_CONTACTS, BENCH_CARD_TIMERS, BENCH_CARD_SAMPLES size it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { agentView } from '../src/agent-view/agent-view.js';
import { openSqlite } from '../src/db/sqlite.js';
import { Store } from '../src/store/store.js';

const CONTACTS = Number(process.env.BENCH_CARD_CONTACTS ?? 1_000_000);
const TIMERS = Number(process.env.BENCH_CARD_TIMERS ?? 200_000);
const SAMPLES = Number(process.env.BENCH_CARD_SAMPLES ?? 2_000);
const PORTAL = 62515;
const NOW = Date.parse('2026-11-23T09:00:00Z');
const id = (i: number) => `c${String(i).padStart(8, '0')}`;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function main() {
  const file = join(mkdtempSync(join(tmpdir(), 'signalbox-card-')), 'signalbox.db');
  let db = await openSqlite(file, { checkpoints: 'background' });
  let store = new Store(db);
  const rs = loadRuleset(DEFAULT_RULESET);
  const seeded = performance.now();
  const BATCH = 10_000;
  for (let from = 1; from <= CONTACTS; from += BATCH) {
    const rows = [];
    for (let i = from; i < from + BATCH && i <= CONTACTS; i++)
      rows.push({
        id: id(i),
        contact: { timezone: 'Africa/Nairobi', market: 'KE' },
        identities: [
          { kind: 'hubspot' as const, value: `${PORTAL}:${i}` },
          { kind: 'email' as const, value: `contact${i}@example.com` },
          { kind: 'phone' as const, value: `+2547${String(i).padStart(8, '0')}` },
        ],
      });
    await store.contacts.insertMany(rows, NOW - 86_400_000);
  }
  // one queued message and its pending fallback timeout on every (CONTACTS / TIMERS)th contact
  const every = Math.max(1, Math.floor(CONTACTS / TIMERS));
  const decision = JSON.stringify({ outcome: 'send', plan: [], reasons: [{ code: 'RULE', message: 'seeded' }] });
  for (let n = 0; n < TIMERS; n += 500) {
    const messages = [];
    const timers = [];
    for (let k = n; k < Math.min(TIMERS, n + 500); k++) {
      const contact = id(1 + k * every);
      const messageId = `m${String(k).padStart(8, '0')}`;
      messages.push({
        id: messageId,
        contact_id: contact,
        idempotency_key: null,
        journey_instance_id: null,
        type: 'service',
        purpose: 'service',
        team: 'support',
        workflow: null,
        journey_id: null,
        template: 'appointment_reminder',
        status: 'sent',
        outcome: 'send',
        channel: 'whatsapp',
        cost: 0.01,
        request: '{}',
        decision,
        created_at: NOW - 600_000,
        updated_at: NOW - 600_000,
      });
      timers.push({
        id: `t${String(k).padStart(8, '0')}`,
        key: `${messageId}:timeout:0`,
        kind: 'timeout',
        ref: messageId,
        due_at: NOW + ((k * 7919) % 86_400_000),
        payload: JSON.stringify({ messageId, step: 0 }),
        claim_owner: null,
        claim_expires_at: null,
        fired_at: null,
        cancelled_at: null,
        created_at: NOW - 600_000,
        contact_id: contact,
      });
    }
    await db.db.insertInto('messages').values(messages).execute();
    await db.db.insertInto('timers').values(timers).execute();
  }
  console.log(
    `  seeded ${CONTACTS} contacts (3 identities each), ${TIMERS} queued messages with a pending timer, in ${((performance.now() - seeded) / 1000).toFixed(0)} s`,
  );

  // opened again, as a restarted app finds it: the seeding's log checkpointed away
  await store.close();
  db = await openSqlite(file, { checkpoints: 'background' });
  store = new Store(db);

  // contacts at random, half of them with a timer
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const sample = Array.from({ length: SAMPLES }, (_, s) => (s % 2 === 0 ? 1 + rand(TIMERS) * every : 1 + rand(CONTACTS)));
  const card = async (i: number) => {
    const contact = await store.contacts.findByIdentity('hubspot', `${PORTAL}:${i}`);
    if (contact === null) throw new Error(`contact ${i} not found`);
    return agentView(store, rs, contact, NOW);
  };
  for (const i of sample.slice(0, 200)) await card(i); // warm-up
  const cards: number[] = [];
  // CPU time per card too: on a shared machine the wall-clock tail is mostly waiting for a core
  const cpu: number[] = [];
  let withNext = 0;
  for (const i of sample) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const v = await card(i);
    cards.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (v.next.length > 0) withNext++;
  }

  // the timers read alone: by timers_contact, and as the card read them before (refs of its messages)
  const byContact: number[] = [];
  const byRefs: number[] = [];
  for (const i of sample) {
    const contactId = id(i);
    const messages = await store.messages.forContact(contactId, 30);
    let t0 = performance.now();
    await store.timers.pendingOf(contactId, NOW - 60_000, 10);
    byContact.push(performance.now() - t0);
    t0 = performance.now();
    const refs = messages.map((m) => m.id);
    if (refs.length > 0)
      await db.db
        .selectFrom('timers')
        .selectAll()
        .where('fired_at', 'is', null)
        .where('cancelled_at', 'is', null)
        .where('ref', 'in', refs)
        .orderBy('due_at')
        .execute();
    byRefs.push(performance.now() - t0);
  }
  console.log(
    `agent card at ${CONTACTS} contacts with ${TIMERS} pending timers (SQLite, identity lookup + card): p50 ${quantile(cards, 0.5).toFixed(2)} ms, p99 ${quantile(cards, 0.99).toFixed(2)} ms, max ${Math.max(...cards).toFixed(2)} ms over ${SAMPLES} cards (${withNext} with a next send); CPU per card p50 ${quantile(cpu, 0.5).toFixed(2)} ms, p99 ${quantile(cpu, 0.99).toFixed(2)} ms`,
  );
  console.log(
    `  the card's timers read: by timers_contact p99 ${quantile(byContact, 0.99).toFixed(3)} ms, baseline by the refs of its messages (the old read) p99 ${quantile(byRefs, 0.99).toFixed(3)} ms, ratio ${(quantile(byContact, 0.99) / Math.max(quantile(byRefs, 0.99), 1e-6)).toFixed(2)}`,
  );
  await store.close();
}

await main();
