/**
 * Everything listable and searchable, the journey simulator and the operations reports, over HTTP
 * on SQLite and PostgreSQL: what the admin console reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const MORNING = '2026-11-23T09:00:00Z';

describe.each([{ name: 'sqlite' }, { name: 'postgres' }])('lists, simulator and reports: $name', ({ name }) => {
  let h: Harness;
  let amina: string;
  let kofi: string;
  beforeAll(async () => {
    h = await startHarness({
      at: MORNING,
      ...(name === 'postgres' ? { postgresSchema: `lists_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
    });
    amina = (
      await h
        .api('integration')
        .post('/api/v1/contacts')
        .send({
          identities: [
            { kind: 'phone', value: '+254711000001' },
            { kind: 'email', value: 'amina@example.com' },
          ],
          market: 'KE',
          timezone: 'Africa/Nairobi',
        })
        .expect(201)
    ).body.contact.id;
    kofi = (
      await h
        .api('integration')
        .post('/api/v1/contacts')
        .send({ identities: [{ kind: 'phone', value: '+4915111000002' }], market: 'DE', timezone: 'Europe/Berlin', vulnerable: true })
        .expect(201)
    ).body.contact.id;
    await h
      .api('agent')
      .post(`/api/v1/contacts/${kofi}/consent`)
      .send({ channel: 'sms', purpose: 'marketing', status: 'revoked' })
      .expect(201);
    // a payment reminder journey for Amina, a collections message for Kofi held for review
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-1-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id: amina },
        object: { type: 'invoice', id: 'inv-1' },
        data: { amount: 40 },
      })
      .expect(202);
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id: kofi }, message: { type: 'transactional', category: 'collections', team: 'finance' } })
      .expect(202);
    await h.settle();
  });
  afterAll(async () => h.close());

  it('finds contacts by identity (exact or prefix), market, consent state and journey, paged', async () => {
    const byPhone = await h.api('agent').get('/api/v1/contacts?identity=%2B254%20711%20000%20001').expect(200);
    expect(byPhone.body.items.map((c: { id: string }) => c.id)).toEqual([amina]);
    const byPrefix = await h.api('agent').get('/api/v1/contacts?identity=amina*').expect(200);
    expect(byPrefix.body.items[0].identities).toContainEqual({ kind: 'email', value: 'amina@example.com' });
    expect((await h.api('agent').get('/api/v1/contacts?market=DE').expect(200)).body.items.map((c: { id: string }) => c.id)).toEqual([
      kofi,
    ]);
    expect(
      (await h.api('agent').get('/api/v1/contacts?consent=sms:marketing:revoked').expect(200)).body.items.map((c: { id: string }) => c.id),
    ).toEqual([kofi]);
    expect(
      (await h.api('agent').get('/api/v1/contacts?journey=payment-reminder&journeyStatus=active').expect(200)).body.items.map(
        (c: { id: string }) => c.id,
      ),
    ).toEqual([amina]);
    const first = await h.api('agent').get('/api/v1/contacts?limit=1').expect(200);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await h.api('agent').get(`/api/v1/contacts?limit=1&cursor=${first.body.next}`).expect(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    const bad = await h.api('agent').get('/api/v1/contacts?consent=sms:love:maybe&cursor=%25%25').expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('/query/consent');
    await h.api('integration').get('/api/v1/contacts').expect(403);
  });

  it('a cursor no list gave (an infinite or negative time, a wrong shape) is 400 at /query/cursor on every list', async () => {
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const infinite = Buffer.from('[1e999,"x"]').toString('base64url');
    for (const [role, list] of [
      ['agent', '/api/v1/messages'],
      ['agent', '/api/v1/reviews'],
      ['agent', '/api/v1/journeys'],
      ['admin', '/api/v1/inbox/events'],
      ['admin', '/api/v1/audit'],
      ['admin', '/api/v1/rules/versions'],
    ] as const)
      for (const bad of [infinite, cursor([-1, 'x']), cursor([1.5, 'x']), cursor([1, '']), cursor([1, 'x', 2]), cursor(-3)]) {
        const res = await h.api(role).get(`${list}?cursor=${bad}`);
        expect(res.status, `${list} ${Buffer.from(bad, 'base64url').toString()}`).toBe(400);
        expect(res.body.errors).toEqual([expect.objectContaining({ path: '/query/cursor' })]);
      }
    // the dead letters' own cursor form, with a time no number holds
    for (const bad of ['99999999999999999999999:x', '1:', ':x', `1:${'x'.repeat(300)}`]) {
      const res = await h.api('admin').get(`/api/v1/inbox/dead-letters?cursor=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: '/query/cursor' })]);
    }
  });

  it("a prefix's % and _ are characters, not wildcards; market is the contact's own, not an attribute's", async () => {
    const jane = (
      await h
        .api('integration')
        .post('/api/v1/contacts')
        .send({ identities: [{ kind: 'email', value: 'jane_doe@example.com' }], attributes: { market: 'DE' } })
        .expect(201)
    ).body.contact.id;
    await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'email', value: 'janexdoe@example.com' }] })
      .expect(201);
    const ids = async (query: string) =>
      (await h.api('agent').get(`/api/v1/contacts?${query}`).expect(200)).body.items.map((c: { id: string }) => c.id);
    expect(await ids('identity=jane_doe*')).toEqual([jane]);
    expect(await ids('identity=%25*')).toEqual([]);
    expect(await ids('identity=_*')).toEqual([]);
    expect(await ids('identity=jane%25*')).toEqual([]);
    expect(await ids('market=DE')).toEqual([kofi]);
    // a NUL in an attribute (JSON's \u0000) is refused at its path (no store keeps it as sent); a
    // phone typed with a tab is a phone, and the market filter still finds only the contact's own
    const nul = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254 700\t000 177' }], attributes: { note: 'a\u0000b' } })
      .expect(400);
    expect(nul.body.errors).toEqual([{ path: '/attributes/note', message: 'must not contain NUL (\\u0000)' }]);
    await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254 700\t000 177' }], attributes: { note: 'ab' } })
      .expect(201);
    expect(await ids('market=DE')).toEqual([kofi]);
  });

  it('lists messages by status, team, journey and time window; the review queue holds the collections message', async () => {
    const all = await h.api('agent').get('/api/v1/messages').expect(200);
    expect(all.body.items).toHaveLength(2);
    const journey = await h.api('agent').get('/api/v1/messages?journey=payment-reminder&status=sent,delivered,read').expect(200);
    expect(journey.body.items).toHaveLength(1);
    expect(journey.body.items[0]).toMatchObject({ contactId: amina, template: 'payment_reminder_friendly' });
    const none = await h.api('agent').get('/api/v1/messages?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z').expect(200);
    expect(none.body.items).toEqual([]);
    const reviews = await h.api('agent').get('/api/v1/reviews').expect(200);
    expect(reviews.body.items).toHaveLength(1);
    expect(reviews.body.items[0]).toMatchObject({ contactId: kofi, team: 'finance', status: 'review' });
    expect(reviews.body.items[0].reasons.map((r: { code: string }) => r.code)).toContain('review');
    const bad = await h.api('agent').get('/api/v1/messages?status=lost').expect(400);
    expect(bad.body.errors[0].path).toBe('/query/status');
  });

  it("lists journey instances and a contact's scheduled timers", async () => {
    const j = await h.api('agent').get('/api/v1/journeys?journey=payment-reminder').expect(200);
    expect(j.body.items).toEqual([
      expect.objectContaining({ contactId: amina, status: 'active', waiting: expect.objectContaining({ stepId: 'wait-3d' }) }),
    ]);
    const timers = await h.api('agent').get(`/api/v1/contacts/${amina}/scheduled`).expect(200);
    expect(timers.body.items).toContainEqual(
      expect.objectContaining({ kind: 'journey', journeyId: 'payment-reminder', dueAt: '2026-11-26T09:00:00.000Z' }),
    );
  });

  it('lists inbox events by state; dead letters carry their error', async () => {
    const processed = await h.api('admin').get('/api/v1/inbox/events?state=processed').expect(200);
    expect(processed.body.items).toEqual([expect.objectContaining({ eventId: 'inv-1-overdue', state: 'processed', error: null })]);
    expect((await h.api('admin').get('/api/v1/inbox/events?state=dead').expect(200)).body.items).toEqual([]);
    await h.api('agent').get('/api/v1/inbox/events').expect(403);
  });

  it('simulates a payment reminder: sends with reasons, waits, and an exit on payment that cancels the rest', async () => {
    const r = await h
      .api('agent')
      .post('/api/v1/journeys/simulate')
      .send({
        journeyId: 'payment-reminder',
        contact: { identities: [{ kind: 'phone', value: '+254700000999' }], market: 'KE', timezone: 'Africa/Nairobi' },
        start: MORNING,
        events: [
          { type: 'invoice.overdue', day: 0, object: { type: 'invoice', id: 'sim-1' } },
          { type: 'invoice.paid', day: 4, object: { type: 'invoice', id: 'sim-1' } },
        ],
      })
      .expect(200);
    const kinds = r.body.timeline.map((e: { kind: string; step?: string }) => `${e.kind}${e.step ? `:${e.step}` : ''}`);
    expect(kinds).toEqual([
      'event',
      'send:friendly',
      'wait:wait-3d',
      'timer:wait-3d',
      'send:firm',
      'wait:wait-4d',
      'event',
      'cancel',
      'complete',
    ]);
    const friendly = r.body.timeline[1];
    expect(friendly).toMatchObject({ outcome: 'send', channel: 'sms' });
    expect(friendly.reasons.length).toBeGreaterThan(0);
    expect(r.body.final).toMatchObject({ status: 'exited', outcome: 'goal', goal: { reachedAt: '2026-11-27T09:00:00.000Z' } });
    // nothing was stored: Amina's journey is still the only one
    expect((await h.api('agent').get('/api/v1/journeys').expect(200)).body.items).toHaveLength(1);
    const bad = await h
      .api('agent')
      .post('/api/v1/journeys/simulate')
      .send({ journeyId: 'payment-reminder', contact: { id: amina }, events: [{ type: 'Invoice overdue' }] })
      .expect(400);
    expect(bad.body.errors[0].path).toBe('/events/0/type');
    const unknown = await h
      .api('agent')
      .post('/api/v1/journeys/simulate')
      .send({ journeyId: 'nope', contact: { id: amina }, events: [{ type: 'invoice.overdue' }] })
      .expect(400);
    expect(unknown.body.errors[0].path).toBe('/journeyId');
    // what names a thing that is not there, or is not valid, is pointed at
    const simulate = (body: Record<string, unknown>) =>
      h
        .api('agent')
        .post('/api/v1/journeys/simulate')
        .send({ journeyId: 'payment-reminder', contact: { id: amina }, events: [{ type: 'invoice.overdue' }], ...body });
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ contact: { id: 'no-such-contact' } }, 404, '/contact/id'],
      [{ contact: { identities: [{ kind: 'phone', value: 'nonsense' }] } }, 400, '/contact/identities/0/value'],
      [{ ruleset: { version: 99999 } }, 404, '/ruleset/version'],
      // an agent names no draft at all (they are the admins'), whether or not it is there
      [{ ruleset: { draftId: '00000000-0000-0000-0000-000000000000' } }, 403, '/ruleset/draftId'],
    ];
    for (const [body, status, path] of cases) {
      const res = await simulate(body);
      expect(res.status, path).toBe(status);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
  });

  it("answers the operations lead's questions as JSON and CSV", async () => {
    await h.advance(60_000);
    const w = 'from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';
    const rates = await h.api('admin').get(`/api/v1/reports/rates?${w}`).expect(200);
    expect(rates.body.rows).toContainEqual(expect.objectContaining({ channel: 'sms', market: 'KE' }));
    const costs = await h.api('admin').get(`/api/v1/reports/costs?${w}`).expect(200);
    expect(costs.body.total.cost).toBeGreaterThan(0);
    const journeys = await h.api('admin').get(`/api/v1/reports/journeys?${w}`).expect(200);
    expect(journeys.body.rows).toEqual([expect.objectContaining({ journeyId: 'payment-reminder', started: 1, active: 1, goalShare: 0 })]);
    const pressure = await h.api('admin').get(`/api/v1/reports/pressure?${w}`).expect(200);
    expect(pressure.body.rows.map((r: { team: string }) => r.team).sort()).toEqual(['(none)', 'finance']);
    const csv = await h.api('admin').get(`/api/v1/reports/rates?${w}&format=csv`).expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('channel,market,went,delivered,read,failed,cost,deliveryRate,readRate');
    await h.api('admin').get(`/api/v1/reports/fallbacks?${w}`).expect(200);
    const bad = await h.api('admin').get('/api/v1/reports/rates?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z').expect(400);
    expect(bad.body.errors[0].path).toBe('/query/to');
    await h.api('agent').get(`/api/v1/reports/rates?${w}`).expect(403);
  });
});
