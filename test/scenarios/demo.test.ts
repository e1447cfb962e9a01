/**
 * `pnpm demo` against a running app (the real server): the demo contacts imported and the seed
 * stories run through the API, so the console's screens have something to show; a second run
 * adds nothing; no app answering is a clear exit 2.
 */
import { DEMO_CONTACTS, demoCommand, loadConfig } from '@signalbox/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, KEYS, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ at: '2026-11-23T09:00:00Z' });
});
afterAll(async () => h?.close());

async function demo(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await demoCommand({ out: (s) => out.push(s), err: (s) => err.push(s), config: loadConfig(env), now: () => h.clock.now() });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const env = () => ({ PUBLIC_URL: h.url, SIGNALBOX_API_KEYS: `ops:admin:${KEYS.admin}` });

const countMessages = async () => (await h.api('agent').get('/api/v1/messages?limit=500').expect(200)).body.items.length;
/** Settles until no new message appears (journeys the demo's events start send on a later round). */
async function settleAll(): Promise<number> {
  let n = -1;
  for (let round = 0; round < 10; round++) {
    await h.settle();
    const now = await countMessages();
    if (now === n) return n;
    n = now;
  }
  return n;
}

async function countContacts(): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const page: { body: { items: unknown[]; next: string | null } } = await h
      .api('agent')
      .get(`/api/v1/contacts?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
      .expect(200);
    n += page.body.items.length;
    cursor = page.body.next;
  } while (cursor !== null);
  return n;
}

describe('pnpm demo', () => {
  it('loads the demo contacts and runs the seed stories: every screen has something to show', async () => {
    const r = await demo(env());
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Demo loaded into ${h.url}: ${DEMO_CONTACTS} contacts, 100 consent records, 10 events, 128 message requests.`);
    expect(r.out).toContain(`Open ${h.url}/admin/`);
    // the 128 requests, the journeys' first sends and the escalation's call
    expect(await settleAll()).toBe(128 + 7);
    expect(await countContacts()).toBe(DEMO_CONTACTS);
    // a collections message to a vulnerable contact waits for review
    const reviews = await h.api('agent').get('/api/v1/reviews').expect(200);
    expect(reviews.body.items).toHaveLength(1);
    // payment reminders: four running, the paid one done
    const journeys = await h.api('agent').get('/api/v1/journeys?journey=payment-reminder').expect(200);
    expect(journeys.body.items.map((j: { status: string }) => j.status).sort()).toEqual(['active', 'active', 'active', 'active', 'exited']);
    // the account issue flagged urgent: escalated to the call
    const escalation = await h.api('agent').get('/api/v1/journeys?journey=account-escalation').expect(200);
    expect(escalation.body.items.map((j: { status: string }) => j.status)).toEqual(['completed']);
    // the promo after a complaint was held, with the rules that held it
    const [held] = (await h.api('agent').get('/api/v1/contacts?identity=%2B254700000000').expect(200)).body.items;
    const contact = await h.api('agent').get(`/api/v1/contacts/${held.id}`).expect(200);
    const promo = contact.body.timeline.find((e: { kind: string; type: string }) => e.kind === 'message' && e.type === 'promotional');
    // held at request time, or at the send gate when the ticket's event was applied after the request
    expect(['suppressed', 'cancelled']).toContain(promo.status);
    const why = await h.api('agent').get(`/api/v1/messages/${promo.id}`).expect(200);
    expect(JSON.stringify(why.body)).toContain('open-ticket-no-promo');
    // messages went out on several channels: the reports have rows
    const rates = await h.api('admin').get('/api/v1/reports/rates?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z').expect(200);
    expect(rates.body.rows.length).toBeGreaterThan(3);
  }, 120_000);

  it('a second run adds nothing (event ids and Idempotency-Keys)', async () => {
    const before = await countMessages();

    const r = await demo(env());
    expect(r.code).toBe(0);
    expect(r.out).toContain(': 300 contacts, 0 consent records, 0 events, 128 message requests.');
    expect(await settleAll()).toBe(before);
    expect(await countContacts()).toBe(DEMO_CONTACTS);
  }, 120_000);

  it('says how to start the app when none answers, and names a refusal', async () => {
    const none = await demo({ PUBLIC_URL: 'http://127.0.0.1:9', SIGNALBOX_API_KEYS: `ops:admin:${KEYS.admin}` });
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^Signalbox does not answer at http:\/\/127\.0\.0\.1:9 .*start it with pnpm start, then run pnpm demo/);
    const refused = await demo({ PUBLIC_URL: h.url, SIGNALBOX_API_KEYS: 'ops:admin:not-the-key-0123456789abcdef' });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^POST \/api\/v1\/contacts\/import was refused \(401\)/);
    expect((await demo({ PUBLIC_URL: h.url, SIGNALBOX_API_KEYS: `desk:agent:${KEYS.agent}` })).code).toBe(2);
  });
});
