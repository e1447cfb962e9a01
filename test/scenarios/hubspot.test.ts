/**
 * Signalbox as a HubSpot app, end to end: the real @hubspot/api-client against the local fake
 * HubSpot, which also sends signed webhooks, workflow action calls and card fetches at our real
 * HTTP server. Installed through the OAuth flow; time moved by the test clock.
 */

import { CrmSync, createLogger } from '@signalbox/app';
import { signV1, signV3 } from '@signalbox/connectors';
import { FakeHubspot } from '@signalbox/connectors/testing';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, KEYS, runUntilIdle, startHarness } from '../support/harness.js';

const MORNING = '2026-11-23T07:00:00Z'; // 10:00 in Nairobi
const DAY = 86_400_000;
const PORTAL = 62515;
let h: Harness;
let fake: FakeHubspot;
let seq = 1;
/** The state of the install made before each test. */
let installState = '';

const event = (e: Record<string, unknown>) => ({
  eventId: seq++,
  subscriptionId: 12345,
  portalId: PORTAL,
  appId: 54321,
  occurredAt: h.clock.now().getTime(),
  attemptNumber: 0,
  changeSource: 'CRM_UI',
  ...e,
});

beforeEach(async () => {
  fake = new FakeHubspot();
  await fake.start();
  h = await startHarness({
    at: MORNING,
    hubspot: {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiBase: fake.url,
      exportThreshold: 1_000,
      exportPageSize: 400,
      exportPollMs: 0,
    },
  });
  // two customers in HubSpot (Nairobi numbers)
  fake.upsertObject(PORTAL, 'contacts', '901', { email: 'amina@example.com', phone: '+254711000901', hs_timezone: 'Africa/Nairobi' });
  fake.upsertObject(PORTAL, 'contacts', '902', { email: 'otieno@example.com', mobilephone: '+254 711 000 902' });
  // the install: our install link → HubSpot's consent screen → our callback with a code
  const install = await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
  const location = new URL(install.headers.location as string);
  expect(location.searchParams.get('client_id')).toBe(fake.clientId);
  const state = location.searchParams.get('state') as string;
  installState = state;
  await request(h.url)
    .get('/hubspot/oauth/callback')
    .query({ code: fake.authorizationCode(PORTAL), state })
    .expect(200);
  await h.settle(); // initial sync
});
afterEach(async () => {
  await h.close();
  await fake.stop();
});

const hook = (events: Array<Record<string, unknown>>) => fake.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, events);

/** A POST signed as HubSpot signs v3 requests (the timestamp given, so each request is its own signature). */
const signedPost = (url: string, body: string, ts = Date.now()) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hubspot-signature-v3': signV3(fake.clientSecret, 'POST', url, body, ts),
      'x-hubspot-request-timestamp': String(ts),
    },
    body,
  });

describe('install', () => {
  it('creates the signalbox property group, stores tokens encrypted, syncs contacts', async () => {
    const p = fake.portal(PORTAL);
    expect(p.groups.has('signalbox')).toBe(true);
    expect([...p.properties.keys()]).toEqual(
      expect.arrayContaining(['signalbox_preferred_channel', 'signalbox_last_decision', 'signalbox_cost_30d']),
    );
    const row = await h.db.selectFrom('crm_portals').selectAll().executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
    expect(row.tokens).not.toContain('at-'); // sealed, not the token
    const sync = await h.db.selectFrom('crm_sync').selectAll().where('kind', '=', 'initial').executeTakeFirstOrThrow();
    expect(sync).toMatchObject({ done: 1, count: 2 });
    const c = await h.store.contacts.findByIdentity('hubspot', `${PORTAL}:902`);
    expect(c?.identities.map((i) => `${i.kind}:${i.value}`).sort()).toEqual([
      'email:otieno@example.com',
      'hubspot:62515:902',
      'phone:+254711000902',
    ]);
    // a forged install callback is refused
    await request(h.url).get('/hubspot/oauth/callback').query({ code: 'x', state: '1-abc.forged' }).expect(400);
    // and a state is good once: the install's callback replayed (even with a fresh code) is refused
    const replayed = await request(h.url)
      .get('/hubspot/oauth/callback')
      .query({ code: fake.authorizationCode(PORTAL), state: installState })
      .expect(400);
    expect(replayed.body).toMatchObject({ code: 'OAUTH_STATE_USED', errors: [{ path: '/query/state' }] });
  });
});

describe('who may install', () => {
  it('an admin only (a key, or a browser signed into the console): anyone else gets no state to install a portal with', async () => {
    const none = await request(h.url).get('/hubspot/install').expect(401);
    expect(none.headers.location).toBeUndefined();
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.integration}`).expect(403);
    await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.agent}`).expect(403);
    const session = await request(h.url).post('/admin/session').send({ key: KEYS.admin }).expect(200);
    const cookie = (session.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] as string;
    const install = await request(h.url).get('/hubspot/install').set('cookie', cookie).expect(302);
    expect(new URL(install.headers.location as string).searchParams.get('state')).toBeTruthy();
  });
});

describe('install while HubSpot cannot be reached', () => {
  it('answers 502 CRM_UNREACHABLE and keeps the link good: the same callback installs once HubSpot is back', async () => {
    const install = await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
    const state = new URL(install.headers.location as string).searchParams.get('state') as string;
    const code = fake.authorizationCode(PORTAL + 7);
    const port = Number(new URL(fake.url).port);
    await fake.stop();
    const down = await request(h.url).get('/hubspot/oauth/callback').query({ code, state });
    expect(down.status).toBe(502);
    expect(down.body.code).toBe('CRM_UNREACHABLE');
    await fake.start(port);
    const done = await request(h.url).get('/hubspot/oauth/callback').query({ code, state }).expect(200);
    expect(done.headers['content-security-policy']).toMatch(/default-src 'none'/);
    // and then it is used
    const again = await request(h.url).get('/hubspot/oauth/callback').query({ code, state }).expect(400);
    expect(again.body.code).toBe('OAUTH_STATE_USED');
  });
});

describe('HUBSPOT_PORTAL_IDS', () => {
  it('a portal not in the list cannot install the app: 403 PORTAL_NOT_ALLOWED, nothing of it kept; a listed one can', async () => {
    const only = await startHarness({
      at: MORNING,
      hubspot: { clientId: fake.clientId, clientSecret: fake.clientSecret, apiBase: fake.url, portalIds: [PORTAL] },
    });
    try {
      const install = async (portalId: number) => {
        const link = await request(only.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
        const state = new URL(link.headers.location as string).searchParams.get('state') as string;
        return request(only.url)
          .get('/hubspot/oauth/callback')
          .query({ code: fake.authorizationCode(portalId), state });
      };
      const other = await install(4242);
      expect(other.status).toBe(403);
      expect(other.body.code).toBe('PORTAL_NOT_ALLOWED');
      expect(await only.db.selectFrom('crm_portals').select('portal_id').execute()).toEqual([]);
      expect((await install(PORTAL)).status).toBe(200);
      // a portal's workflow webhook or card from outside the list is refused at the door
      const body = JSON.stringify({ objectId: 901 });
      const res = await signedPost(`${only.url}/hooks/hubspot/workflow-webhook?portalId=4242&event=invoice.paid`, body);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('PORTAL_NOT_ALLOWED');
      const card = await fake.fetchFromCard(`${only.url}/hubspot/card`, { portalId: 4242, userId: 7 }, { query: { objectId: '901' } });
      expect(card.status).toBe(403);
    } finally {
      await only.close();
    }
  });
});

describe('HubSpot events in real time', () => {
  it('a ticket opened in HubSpot suppresses a promotional message', async () => {
    fake.upsertObject(PORTAL, 'tickets', '555', { subject: 'Billing problem' }, ['901']);
    const res = await hook([event({ subscriptionType: 'ticket.creation', objectId: 555, changeFlag: 'CREATED' })]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 1 });
    await h.settle();
    const promo = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({
        contact: { identities: [{ kind: 'hubspot', value: `${PORTAL}:901` }] },
        message: { type: 'promotional', template: 'black_friday' },
      })
      .expect(202);
    expect(promo.body.decision.outcome).toBe('suppress');
    expect(promo.body.decision.reasons.map((r: { code: string; rule?: string }) => r.code)).toContain('suppressed');
  });

  it('a HubSpot contact whose email is not one we can use (a pasted zero-width space) is still stored, by its phone and HubSpot id', async () => {
    fake.upsertObject(PORTAL, 'contacts', '903', { email: 'kofi@example.com\u200b', phone: '+254711000903' });
    fake.upsertObject(PORTAL, 'tickets', '557', { subject: 'Router down' }, ['903']);
    await hook([event({ subscriptionType: 'ticket.creation', objectId: 557, changeFlag: 'CREATED' })]);
    await h.settle();
    const contact = await h.store.contacts.findByIdentity('phone', '+254711000903');
    expect(contact?.identities.map((i) => i.kind).sort()).toEqual(['hubspot', 'phone']);
    const events = await h.db
      .selectFrom('contact_events')
      .select(['type'])
      .where('contact_id', '=', contact?.id as string)
      .execute();
    expect(events.map((e) => e.type)).toEqual(['ticket.opened']);
  });

  it('an invoice paid in HubSpot stops the payment-reminder journey; the sent reminder is a Communication on the right contact', async () => {
    fake.upsertObject(PORTAL, 'invoices', '777', { hs_invoice_status: 'overdue' }, ['902']);
    await hook([
      event({ subscriptionType: 'invoice.propertyChange', objectId: 777, propertyName: 'hs_invoice_status', propertyValue: 'overdue' }),
    ]);
    await h.settle();
    let sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.address)).toEqual(['+254711000902']);
    // the reminder on HubSpot's timeline, on contact 902 and no other
    const comms = [...(fake.portal(PORTAL).objects.communications?.values() ?? [])];
    expect(comms).toHaveLength(1);
    expect(comms[0]?.contacts).toEqual(['902']);
    expect(comms[0]?.properties.hs_communication_channel_type).toBe('SMS');
    expect(comms[0]?.properties.hs_communication_logged_from).toBe('CRM');
    expect(comms[0]?.properties.hs_communication_body).toContain('payment');
    // the outcome follows delivery: the same Communication rewritten once the receipts came
    expect(comms[0]?.properties.hs_communication_body).toMatch(/by sms: (delivered|read)/);
    expect(fake.portal(PORTAL).objects.contacts?.get('902')?.properties.signalbox_messages_30d).toBe('1');
    // paid the next day, in HubSpot
    h.clock.advance(DAY);
    await hook([
      event({ subscriptionType: 'invoice.propertyChange', objectId: 777, propertyName: 'hs_invoice_status', propertyValue: 'paid' }),
    ]);
    await h.settle();
    await h.advance(3 * DAY);
    await h.advance(5 * DAY);
    sends = await h.store.sandbox.sends();
    expect(sends).toHaveLength(1);
    const instances = await h.db.selectFrom('journey_instances').select(['journey_id', 'status']).execute();
    expect(instances).toEqual([{ journey_id: 'payment-reminder', status: 'exited' }]);
    const goal = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'journey.complete').execute();
    expect(JSON.parse(goal[0]?.detail as string)).toMatchObject({ outcome: 'goal', goalReached: true });
  });

  it('an account issue opened by a workflow on a ticket, then the ticket raised to high priority: the call and its SMS follow-up go at once (story 10)', async () => {
    fake.upsertObject(PORTAL, 'tickets', '556', { subject: 'Card blocked', hs_ticket_priority: 'MEDIUM' }, ['901']);
    const opened = await signedPost(
      `${h.url}/hooks/hubspot/workflow-webhook?portalId=${PORTAL}&event=account.issue_opened&objectType=ticket`,
      // a workflow sending every property: one a JSON number cannot hold exactly is HubSpot's, not ours to refuse
      `{"objectId":556,"properties":{"subject":"Card blocked","hs_external_ref":12345678901234567891}}`,
    );
    expect(opened.status).toBe(200);
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.address)).toEqual(['+254711000901']);
    h.clock.advance(2 * 3_600_000);
    fake.upsertObject(PORTAL, 'tickets', '556', { subject: 'Card blocked', hs_ticket_priority: 'HIGH' }, ['901']);
    await hook([
      event({ subscriptionType: 'ticket.propertyChange', objectId: 556, propertyName: 'hs_ticket_priority', propertyValue: 'HIGH' }),
    ]);
    await h.settle();
    await h.advance(10 * 60_000);
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.channel).slice(1)).toEqual(['voice', 'sms']);
    const instances = await h.db.selectFrom('journey_instances').select(['journey_id', 'status', 'key']).execute();
    expect(instances).toEqual([{ journey_id: 'account-escalation', status: 'completed', key: `object:ticket:hubspot:${PORTAL}:556` }]);
  });

  it('the urgent call paid again by its SMS follow-up: the note written when it was answered (HubSpot has no voice Communications) is written again with the whole cost', async () => {
    fake.upsertObject(PORTAL, 'invoices', '778', { hs_invoice_status: 'overdue' }, ['902']);
    await hook([
      event({ subscriptionType: 'invoice.propertyChange', objectId: 778, propertyName: 'hs_invoice_status', propertyValue: 'overdue' }),
    ]);
    await h.settle();
    await h.advance(3 * DAY);
    await h.advance(4 * DAY);
    const voice = await h.db
      .selectFrom('messages')
      .select(['id', 'cost'])
      .where('channel', '=', 'voice')
      .where('request', 'like', '%hubspot:62515:778%')
      .executeTakeFirstOrThrow();
    const body = () =>
      [...(fake.portal(PORTAL).objects.notes?.values() ?? [])]
        .map((n) => String(n.properties.hs_note_body))
        .filter((b) => b.includes('by voice'));
    // answered: written with what the call cost (a note: HubSpot's Communications have no voice)
    expect(body()).toEqual([expect.stringContaining(`(cost ${Number(voice.cost)})`)]);
    // the SMS ten minutes after is paid by the same message: the same note, with the whole cost
    await h.advance(10 * 60_000);
    const after = await h.db.selectFrom('messages').select('cost').where('id', '=', voice.id).executeTakeFirstOrThrow();
    expect(Number(after.cost)).toBeGreaterThan(Number(voice.cost));
    expect(body()).toEqual([expect.stringContaining(`(cost ${Number(after.cost)})`)]);
    // written once more, not again and again
    const written = await h.db
      .selectFrom('crm_writebacks')
      .select(['cost', 'outcome'])
      .where('message_id', '=', voice.id)
      .executeTakeFirstOrThrow();
    expect(Number(written.cost)).toBe(Number(after.cost));
    const notes = fake.portal(PORTAL).objects.notes?.size;
    const stamp = () => h.db.selectFrom('crm_writebacks').select('updated_at').where('message_id', '=', voice.id).executeTakeFirstOrThrow();
    const last = await stamp();
    await h.advance(60_000);
    await h.advance(60_000);
    expect(await stamp()).toEqual(last);
    expect(fake.portal(PORTAL).objects.notes?.size).toBe(notes);
    expect(body()).toHaveLength(1);
  });

  it('a 100-event batch with duplicates, out of order, yields each effect once; a redelivery changes nothing', async () => {
    const tickets = Array.from({ length: 50 }, (_, i) => String(1000 + i));
    for (const [i, t] of tickets.entries()) fake.upsertObject(PORTAL, 'tickets', t, { subject: `t${i}` }, [i % 2 === 0 ? '901' : '902']);
    const unique = tickets.map((t, i) =>
      event({
        subscriptionType: 'ticket.creation',
        objectId: Number(t),
        changeFlag: 'CREATED',
        occurredAt: h.clock.now().getTime() - i * 1000,
      }),
    );
    const dupes = unique.map((e) => ({ ...e, attemptNumber: 1 }));
    const batch = [...unique, ...dupes].sort(() => Math.random() - 0.5);
    expect(batch).toHaveLength(100);
    const first = await hook(batch);
    expect(await first.json()).toEqual({ received: 100 });
    await h.settle();
    const lookups = fake.log.filter((l) => l.path.startsWith('/crm/v3/objects/tickets/')).length;
    expect(lookups).toBe(50); // each ticket's contacts asked for once
    const again = await hook(batch);
    expect(again.status).toBe(200);
    await h.settle();
    expect(fake.log.filter((l) => l.path.startsWith('/crm/v3/objects/tickets/')).length).toBe(lookups);
    const opened = await h.db.selectFrom('contact_events').select(['id']).where('type', '=', 'ticket.opened').execute();
    expect(opened).toHaveLength(50);
    expect(new Set(opened.map((e) => e.id)).size).toBe(50);
  });

  it('two different changes that share an eventId (HubSpot says it is not unique) are both applied', async () => {
    fake.upsertObject(PORTAL, 'tickets', '5001', { subject: 'a' }, ['901']);
    fake.upsertObject(PORTAL, 'tickets', '5002', { subject: 'b' }, ['902']);
    const shared = seq++;
    await hook([
      event({ eventId: shared, subscriptionType: 'ticket.creation', objectId: 5001, changeFlag: 'CREATED' }),
      event({ eventId: shared, subscriptionType: 'ticket.creation', objectId: 5002, changeFlag: 'CREATED' }),
    ]);
    await h.settle();
    const opened = await h.db
      .selectFrom('contact_events')
      .select(['contact_id', 'object_id'])
      .where('type', '=', 'ticket.opened')
      .execute();
    expect(opened.map((e) => e.object_id).sort()).toEqual([`hubspot:${PORTAL}:5001`, `hubspot:${PORTAL}:5002`]);
  });

  it('a portal that declined the invoices scope: its invoice change fails alone (a dead letter with its error), the rest of the delivery is applied', async () => {
    const P2 = 62516;
    fake.upsertObject(P2, 'contacts', '31', { email: 'wanjiru@example.com', phone: '+254711000031' });
    fake.upsertObject(P2, 'invoices', '41', { hs_invoice_status: 'overdue' }, ['31']);
    fake.upsertObject(P2, 'tickets', '51', { subject: 'Router down' }, ['31']);
    // installed by a user who declined the optional scope crm.objects.invoices.read
    const install = await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
    const back = new URL(fake.authorize(install.headers.location as string, { portalId: P2, decline: ['crm.objects.invoices.read'] }));
    await request(h.url).get('/hubspot/oauth/callback').query(Object.fromEntries(back.searchParams)).expect(200);
    await h.settle();
    const res = await hook([
      event({
        portalId: P2,
        subscriptionType: 'invoice.propertyChange',
        objectId: 41,
        propertyName: 'hs_invoice_status',
        propertyValue: 'overdue',
      }),
      event({ portalId: P2, subscriptionType: 'ticket.creation', objectId: 51, changeFlag: 'CREATED' }),
    ]);
    expect(res.status).toBe(200);
    await h.settle();
    // the ticket was applied: it is on the contact's story
    const contact = await h.store.contacts.findByIdentity('hubspot', `${P2}:31`);
    const events = await h.db
      .selectFrom('contact_events')
      .select(['type'])
      .where('contact_id', '=', contact?.id ?? '')
      .execute();
    expect(events.map((e) => e.type)).toEqual(['ticket.opened']);
    // the invoice change failed at once (retrying cannot mend a declined scope): a dead letter with HubSpot's reason
    const dead = await h.api('admin').get('/api/v1/inbox/dead-letters').expect(200);
    expect(dead.body.items).toHaveLength(1);
    expect(dead.body.items[0]).toMatchObject({ source: 'hubspot', attempts: 1 });
    expect(dead.body.items[0].error).toMatch(/403 MISSING_SCOPES/);
    expect(fake.log.filter((l) => l.portalId === P2 && l.path.startsWith('/crm/v3/objects/invoices/')).length).toBe(1);
    // nothing was sent for an invoice Signalbox could not read
    expect((await h.store.sandbox.sends()).filter((s) => s.address === '+254711000031')).toEqual([]);
    // the admin grants the scope (installs again) and retries the dead letter: now it is applied
    const again = await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
    const back2 = new URL(fake.authorize(again.headers.location as string, { portalId: P2 }));
    await request(h.url).get('/hubspot/oauth/callback').query(Object.fromEntries(back2.searchParams)).expect(200);
    await h.api('admin').post(`/api/v1/inbox/${dead.body.items[0].id}/retry`).expect(202);
    await h.settle();
    expect((await h.api('admin').get('/api/v1/inbox/dead-letters').expect(200)).body.items).toEqual([]);
    const after = await h.db
      .selectFrom('contact_events')
      .select(['type'])
      .where('contact_id', '=', contact?.id ?? '')
      .execute();
    expect(after.map((e) => e.type).sort()).toEqual(['invoice.overdue', 'ticket.opened']);
  });

  it('a delivery replayed with its signature is refused, and changes nothing', async () => {
    fake.upsertObject(PORTAL, 'tickets', '5003', { subject: 'c' }, ['901']);
    const body = JSON.stringify([event({ subscriptionType: 'ticket.creation', objectId: 5003, changeFlag: 'CREATED' })]);
    const url = `${h.url}/hooks/hubspot/webhooks`;
    const ts = Date.now();
    const headers = {
      'content-type': 'application/json',
      'x-hubspot-signature-v3': signV3(fake.clientSecret, 'POST', url, body, ts),
      'x-hubspot-request-timestamp': String(ts),
    };
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(200);
    const replay = await fetch(url, { method: 'POST', headers, body });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('SIGNATURE_REPLAYED');
    await h.settle();
    expect(await h.db.selectFrom('contact_events').select('id').where('object_id', '=', `hubspot:${PORTAL}:5003`).execute()).toHaveLength(
      1,
    );
  });

  it('a "Send a webhook" delivery: a retry collapses; the same body for another portal or object type is another delivery', async () => {
    const body = JSON.stringify({ objectId: 501, properties: { firstname: 'Alice' } });
    let n = 0;
    const post = async (query: string) => {
      // each request signed on its own (a signature is good once)
      const res = await signedPost(`${h.url}/hooks/hubspot/workflow-webhook?${query}`, body, Date.now() + n++);
      expect(res.status, query).toBe(200);
      return res.json();
    };
    expect(await post(`portalId=${PORTAL}&event=invoice.paid&objectType=contact`)).toEqual({ accepted: 1, duplicates: 0 });
    expect(await post(`portalId=${PORTAL}&event=invoice.paid&objectType=contact`)).toEqual({ accepted: 0, duplicates: 1 });
    expect(await post(`portalId=${PORTAL + 1}&event=invoice.paid&objectType=contact`)).toEqual({ accepted: 1, duplicates: 0 });
    expect(await post(`portalId=${PORTAL}&event=invoice.paid&objectType=deal`)).toEqual({ accepted: 1, duplicates: 0 });
    expect(await post(`portalId=${PORTAL}&event=invoice.overdue&objectType=contact`)).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('refuses forged, stale and unsigned deliveries with 401 (nothing stored)', async () => {
    const body = [event({ subscriptionType: 'ticket.creation', objectId: 1, changeFlag: 'CREATED' })];
    const forged = await fake.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, body, { secret: 'not-the-secret-0000' });
    expect(forged.status).toBe(401);
    const stale = await fake.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, body, { timestamp: Date.now() - 6 * 60_000 });
    expect(stale.status).toBe(401);
    const raw = JSON.stringify(body);
    await request(h.url).post('/hooks/hubspot/webhooks').set('content-type', 'application/json').send(raw).expect(401);
    // the v1 header alone still works (older deliveries), but not for a different body
    await request(h.url)
      .post('/hooks/hubspot/webhooks')
      .set('content-type', 'application/json')
      .set('x-hubspot-signature-version', 'v1')
      .set('x-hubspot-signature', signV1(fake.clientSecret, raw))
      .send(raw.replace('"objectId":1', '"objectId":2'))
      .expect(401);
    expect(await h.db.selectFrom('inbox').select('id').where('source', '=', 'hubspot').execute()).toEqual([]);
    // a value nested past 64 levels, correctly signed, is refused with its path before anything reads it
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { a: deep };
    const tooDeep = await fake.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, [
      event({ subscriptionType: 'contact.propertyChange', objectId: 1, propertyName: 'note', propertyValue: deep }),
    ]);
    expect(tooDeep.status).toBe(400);
    const problem = (await tooDeep.json()) as { code: string; errors: Array<{ path: string }> };
    expect(problem.code).toBe('JSON_TOO_DEEP');
    expect(problem.errors[0]?.path).toMatch(/^\/0\/propertyValue(\/a)+$/);
    // a number no double holds, correctly signed, is refused with its path (it would be stored as null)
    const url = `${h.url}/hooks/hubspot/webhooks`;
    const huge = JSON.stringify([
      event({ subscriptionType: 'contact.propertyChange', objectId: 1, propertyName: 'score', propertyValue: 'HUGE' }),
    ]).replace('"HUGE"', '1e999');
    const refused = await signedPost(url, huge);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'NUMBER_OUT_OF_RANGE', errors: [{ path: '/0/propertyValue' }] });
    // a malformed batch, correctly signed, is a 400 naming the path
    const bad = await fake.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, [{ eventId: 1, portalId: 'x' }]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain('/0/portalId');
  });
});

describe('workflow actions', () => {
  it('"Send via Signalbox" blocks, sends, then completes the callback with channel, outcome, reason and cost', async () => {
    const res = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'ap-102670506-56777914962-11-0',
      origin: { portalId: PORTAL, actionDefinitionId: 10860211, actionDefinitionVersion: 1 },
      context: { source: 'WORKFLOWS', workflowId: 192814114 },
      object: { objectId: 902, objectType: 'CONTACT' },
      inputFields: { messageType: 'transactional', template: 'order_shipped' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputFields: Record<string, string> };
    expect(body.outputFields.hs_execution_state).toBe('BLOCK');
    await h.settle();
    const done = fake.portal(PORTAL).completedCallbacks.get('ap-102670506-56777914962-11-0');
    expect(done).toMatchObject({ hs_execution_state: 'SUCCESS', outcome: expect.stringMatching(/sent|delivered|read/) });
    expect(done?.channel).toBeTruthy();
    expect(done?.decision_reason).toBeTruthy();
    // the same execution retried: one message only
    await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'ap-102670506-56777914962-11-0',
      origin: { portalId: PORTAL },
      object: { objectId: 902, objectType: 'CONTACT' },
      inputFields: { messageType: 'transactional', template: 'order_shipped' },
    });
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(1);
  });

  it('a portal that uninstalls stops being called: its blocked action is abandoned, not retried forever', async () => {
    const res = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'cb-uninstalled',
      origin: { portalId: PORTAL },
      object: { objectId: 902, objectType: 'CONTACT' },
      inputFields: { messageType: 'transactional', template: 'order_shipped' },
    });
    expect(((await res.json()) as { outputFields: Record<string, string> }).outputFields.hs_execution_state).toBe('BLOCK');
    fake.uninstall(PORTAL);
    await h.settle();
    const cb = await h.db.selectFrom('crm_callbacks').selectAll().where('callback_id', '=', 'cb-uninstalled').executeTakeFirstOrThrow();
    expect(cb.outcome).toMatch(/^abandoned/);
    const portal = await h.db.selectFrom('crm_portals').selectAll().executeTakeFirstOrThrow();
    expect(portal.status).toBe('disabled');
    // nothing more goes to HubSpot for this portal
    const calls = fake.log.length;
    await runUntilIdle(h.system.runtime);
    await hook([event({ subscriptionType: 'contact.creation', objectId: 902, changeFlag: 'CREATED' })]);
    await h.settle();
    expect(fake.log.filter((l) => l.path.startsWith('/crm/') || l.path.startsWith('/automation/')).length).toBe(
      fake.log.slice(0, calls).filter((l) => l.path.startsWith('/crm/') || l.path.startsWith('/automation/')).length,
    );
  });

  it('a signed action from a portal that never installed the app answers the documented failure shape, not a 5xx', async () => {
    const res = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'cb-stranger',
      origin: { portalId: 99_999 },
      object: { objectId: 902, objectType: 'CONTACT' },
      inputFields: { messageType: 'transactional', template: 'order_shipped' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputFields: Record<string, string> };
    expect(body.outputFields).toMatchObject({ hs_execution_state: 'FAIL_CONTINUE', outcome: 'portal_not_installed' });
    // a deal in such a portal: its contacts cannot be looked up either
    const deal = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'cb-stranger-2',
      origin: { portalId: 99_999 },
      object: { objectId: 12, objectType: 'DEAL' },
      inputFields: { messageType: 'transactional' },
    });
    expect(((await deal.json()) as { outputFields: Record<string, string> }).outputFields.outcome).toBe('portal_not_installed');
    // the card of such a portal: a clear 403
    const card = await fake.fetchFromCard(`${h.url}/hubspot/card`, { portalId: 99_999, userId: 7 }, { query: { objectId: '902' } });
    expect(card.status).toBe(403);
    expect(((await card.json()) as { code: string }).code).toBe('PORTAL_NOT_INSTALLED');
    expect(await h.store.sandbox.sends()).toHaveLength(0);
  });

  it('a refused message answers FAIL_CONTINUE with the reason; a wrong v2 signature is 401', async () => {
    const res = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'cb-2',
      origin: { portalId: PORTAL },
      object: { objectId: 901, objectType: 'CONTACT' },
      inputFields: { messageType: 'promotional', template: 'black_friday' },
    });
    const body = (await res.json()) as { outputFields: Record<string, string> };
    expect(body.outputFields).toMatchObject({ hs_execution_state: 'FAIL_CONTINUE', outcome: 'suppressed' });
    expect(body.outputFields.decision_reason).toMatch(/suppressed/);
    // a template the ruleset lacks (a typo in the workflow) is the documented failure, nothing sent
    const typo = await fake.sendCustomAction(`${h.url}/hooks/hubspot/actions/send`, {
      callbackId: 'cb-typo',
      origin: { portalId: PORTAL },
      object: { objectId: 901, objectType: 'CONTACT' },
      inputFields: { messageType: 'service', template: 'invoce_reminder' },
    });
    expect(typo.status).toBe(200);
    const failed = (await typo.json()) as { outputFields: Record<string, string> };
    expect(failed.outputFields).toMatchObject({ hs_execution_state: 'FAIL_CONTINUE', outcome: 'template_unknown' });
    expect(failed.outputFields.decision_reason).toContain('invoce_reminder');
    expect(await h.db.selectFrom('messages').select('id').where('idempotency_key', '=', 'hubspot-action:cb-typo').execute()).toEqual([]);
    const forged = await fake.sendCustomAction(
      `${h.url}/hooks/hubspot/actions/send`,
      { callbackId: 'x' },
      { secret: 'wrong-secret-000000' },
    );
    expect(forged.status).toBe(401);
  });
});

describe('the app card', () => {
  it('shows the story, consent, journeys, decisions and budget; sends from the card through the same policy', async () => {
    fake.upsertObject(PORTAL, 'invoices', '778', { hs_invoice_status: 'overdue' }, ['902']);
    await hook([
      event({ subscriptionType: 'invoice.propertyChange', objectId: 778, propertyName: 'hs_invoice_status', propertyValue: 'overdue' }),
    ]);
    await h.settle();
    const card = await fake.fetchFromCard(
      `${h.url}/hubspot/card`,
      { portalId: PORTAL, userId: 7, userEmail: 'agent@example.com' },
      { query: { objectId: '902' } },
    );
    expect(card.status).toBe(200);
    const c = (await card.json()) as Record<string, unknown> & {
      summary: string;
      journeys: unknown[];
      decisions: Array<{ reason: string }>;
      budget: Array<{ cap: string; left: number }>;
    };
    expect(c.summary).toMatch(/payment-reminder/);
    expect(c.journeys).toHaveLength(1);
    expect(c.decisions[0]?.reason).toMatch(/sms/);
    expect(c.budget.map((b) => b.cap)).toEqual(['promo-daily', 'promo-weekly']);
    expect(JSON.stringify(c).length).toBeLessThan(1024 * 1024);
    // send from the card: a promo is refused (no marketing consent) and the agent sees why
    const promo = await fake.fetchFromCard(
      `${h.url}/hubspot/card/send`,
      { portalId: PORTAL, userId: 7 },
      { method: 'POST', body: { objectId: 902, messageType: 'promotional', template: 'black_friday' } },
    );
    const p = (await promo.json()) as { status: string; reason: string };
    expect(p.status).toBe('suppressed');
    expect(p.reason).toMatch(/suppressed/);
    const service = await fake.fetchFromCard(
      `${h.url}/hubspot/card/send`,
      { portalId: PORTAL, userId: 7 },
      { method: 'POST', body: { objectId: 902, messageType: 'service', template: 'callback_scheduled' } },
    );
    expect(service.status).toBe(202);
    // the card sends a key with each click of Send: a retry answers with the first message; the key
    // on another send is refused
    const click = (body: Record<string, unknown>) =>
      fake.fetchFromCard(`${h.url}/hubspot/card/send`, { portalId: PORTAL, userId: 7 }, { method: 'POST', body });
    const once = {
      objectId: 902,
      messageType: 'service',
      template: 'technician_visit',
      idempotencyKey: 'c1d2e3f4-0000-4000-8000-000000000001',
    };
    const first = await click(once);
    const again = await click(once);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    const reused = await click({ ...once, messageType: 'urgent' });
    expect(reused.status).toBe(409);
    expect(await reused.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ path: '/idempotencyKey' }] });
    const badKey = await click({ ...once, idempotencyKey: 'has spaces in it' });
    expect(badKey.status).toBe(400);
    expect(((await badKey.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe('/idempotencyKey');
    // unsigned or tampered card fetches are refused
    await request(h.url)
      .get('/hubspot/card')
      .query({ objectId: '902', portalId: String(PORTAL) })
      .expect(401);
    // a captured send replayed inside the 5-minute window is refused: one message, not two
    const url = `${h.url}/hubspot/card/send?userId=7&appId=54321&portalId=${PORTAL}`;
    const body = JSON.stringify({ objectId: 902, messageType: 'transactional', template: 'order_shipped' });
    const ts = Date.now();
    const headers = {
      'content-type': 'application/json',
      'x-hubspot-signature-v3': signV3(fake.clientSecret, 'POST', url, body, ts),
      'x-hubspot-request-timestamp': String(ts),
    };
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(202);
    const replayed = await fetch(url, { method: 'POST', headers, body });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { code: string }).code).toBe('SIGNATURE_REPLAYED');
    // the user id is HubSpot's (digits), given once
    for (const userId of ['1&userId=2', 'x%3Cscript%3E']) {
      const bad = `${h.url}/hubspot/card/send?userId=${userId}&appId=54321&portalId=${PORTAL}`;
      const t = Date.now() + 1;
      const r = await fetch(bad, {
        method: 'POST',
        headers: {
          ...headers,
          'x-hubspot-signature-v3': signV3(fake.clientSecret, 'POST', bad, body, t),
          'x-hubspot-request-timestamp': String(t),
        },
        body,
      });
      expect(r.status, userId).toBe(400);
      expect(((await r.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe('/query/userId');
    }
  });
});

describe('sync', () => {
  it('the initial sync resumes from its cursor after a stop, and the sweep repairs a missed change', async () => {
    const p = 777;
    fake.seedContacts(p, 350);
    const t = fake.issueTokens(p);
    if (h.system.hubspot === null) throw new Error('HubSpot is not wired');
    // the portal's tokens, stored the way an install stores them (sealed)
    await h.system.hubspot.tokens.save({
      portalId: p,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: h.clock.now().getTime() + 1_800_000,
    });
    // two pages, then the process "stops"
    expect(await h.system.hubspot.sync.initial(String(p), 2)).toEqual({ pages: 2, contacts: 200, done: false });
    const row = await h.db.selectFrom('crm_sync').selectAll().where('portal_id', '=', String(p)).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ cursor: JSON.stringify({ mode: 'page', after: '200' }), done: 0, count: 200 });
    // a fresh run goes on from the cursor: 2 more pages, not 4
    const before = fake.log.filter((l) => l.portalId === p && l.path === '/crm/v3/objects/contacts').length;
    expect(await h.system.hubspot.sync.initial(String(p))).toEqual({ pages: 2, contacts: 350, done: true });
    expect(fake.log.filter((l) => l.portalId === p && l.path === '/crm/v3/objects/contacts').length - before).toBe(2);
    // a change whose webhook never came: the sweep finds it
    await new Promise((r) => setTimeout(r, 5));
    fake.upsertObject(p, 'contacts', '42', { email: 'new-address@example.com' });
    expect(await h.system.hubspot.sync.sweep(String(p))).toBeGreaterThanOrEqual(1);
    const c = await h.store.contacts.findByIdentity('hubspot', `${p}:42`);
    expect(c?.identities.map((i) => i.value)).toContain('new-address@example.com');
  });

  it('with two instances, one runs the initial sync of a portal at a time; the other takes it over from the cursor when its claim lapses', async () => {
    const p = 779;
    fake.seedContacts(p, 900); // below the export threshold: paged, 100 a page
    const t = fake.issueTokens(p);
    const hubspot = h.system.hubspot;
    if (hubspot === null) throw new Error('HubSpot is not wired');
    await hubspot.tokens.save({
      portalId: p,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: h.clock.now().getTime() + 3_600_000,
    });
    await hubspot.sync.begin(String(p));
    // a second instance's sync of the same portal, over the same database
    const other = new CrmSync({
      connector: hubspot.connector,
      people: hubspot.people,
      store: h.store,
      now: () => h.clock.now().getTime(),
      log: createLogger('silent'),
      claim: { owner: 'instance-b', ms: 60_000 },
    });
    const pages = () => fake.log.filter((l) => l.portalId === p && l.path === '/crm/v3/objects/contacts').length;
    const count = async () =>
      (
        await h.db
          .selectFrom('crm_sync')
          .select('count')
          .where('portal_id', '=', String(p))
          .where('kind', '=', 'initial')
          .executeTakeFirstOrThrow()
      ).count;
    expect(await hubspot.sync.round()).toBe(5);
    expect(await count()).toBe(500);
    // the first instance holds it: the second reads nothing
    const before = pages();
    expect(await other.round()).toBe(0);
    expect(pages()).toBe(before);
    // the first instance stops renewing (it died); past its claim the second goes on from the cursor
    h.clock.advance(61_000);
    expect(await other.round()).toBe(4);
    expect(await count()).toBe(900);
    expect(await hubspot.sync.round()).toBe(0);
  });

  it('a portal above the export threshold syncs through one export, stored in batches; people we knew merge as one by one', async () => {
    const p = 778;
    fake.seedContacts(p, 2_500);
    // already ours: contact 7's email (the export's row merges into it) and a contact of another CRM
    const known = await h.store.contacts.upsert({ identities: [{ kind: 'email', value: 'contact7@example.com' }] }, Date.now());
    const t = fake.issueTokens(p);
    if (h.system.hubspot === null) throw new Error('HubSpot is not wired');
    await h.system.hubspot.tokens.save({
      portalId: p,
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      expiresAt: h.clock.now().getTime() + 1_800_000,
    });
    // the first round starts the export; later rounds store its file, 400 contacts a page
    let r = await h.system.hubspot.sync.initial(String(p), 3);
    for (let i = 0; i < 200 && !r.done; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      r = await h.system.hubspot.sync.initial(String(p), 3);
    }
    expect(r).toMatchObject({ contacts: 2_500, done: true });
    expect(fake.log.filter((l) => l.portalId === p && l.path === '/crm/v3/objects/contacts').length).toBe(0);
    expect(fake.log.filter((l) => l.portalId === p && l.path === '/crm/v3/exports/export/async').length).toBe(1);
    const c7 = await h.store.contacts.findByIdentity('hubspot', `${p}:7`);
    expect(c7?.id).toBe(known.contact.id);
    expect(c7?.identities.map((i) => `${i.kind}:${i.value}`).sort()).toEqual([
      'email:contact7@example.com',
      `hubspot:${p}:7`,
      'phone:+254700000007',
    ]);
    const last = await h.store.contacts.findByIdentity('phone', '+254700002500');
    expect(last?.identities.map((i) => i.value)).toContain(`${p}:2500`);
    expect(last?.market).toBe('KE');
    const n = await h.db
      .selectFrom('identities')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('value', 'like', `${p}:%`)
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(2_500);
    const sweep = await h.db
      .selectFrom('crm_sync')
      .selectAll()
      .where('portal_id', '=', String(p))
      .where('kind', '=', 'sweep')
      .executeTakeFirst();
    // the sweep starts where the sync began (its first round), not where its last round began
    const initial = await h.db
      .selectFrom('crm_sync')
      .selectAll()
      .where('portal_id', '=', String(p))
      .where('kind', '=', 'initial')
      .executeTakeFirstOrThrow();
    expect(initial.started_at).not.toBeNull();
    expect(sweep?.cursor).toBe(String(initial.started_at));
  });
});
