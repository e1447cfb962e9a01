/**
 * Signalbox as a Salesforce connected app, end to end: real jsforce 3.10.16 against the local fake
 * Salesforce (OAuth, REST, Bulk API 2.0, CometD with Change Data Capture), which also sends
 * Outbound Messages at our real HTTP server; the record panel called as the org's Named Credential
 * would. Connected through the OAuth web server flow an admin starts.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeHubspot, FakeSalesforce, fakeId, outboundEnvelope } from '@signalbox/connectors/testing';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, KEYS, startHarness } from '../support/harness.js';

const MORNING = '2026-11-23T07:00:00Z'; // 10:00 in Nairobi
const DAY = 86_400_000;
const REDIRECT = 'https://signalbox.example.com/salesforce/oauth/callback';
let h: Harness;
let fake: FakeSalesforce;
let ORG: string;
let amina: string;
let otieno: string;
let panelKey: string;
let notification = 1;
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../integrations/salesforce/fixtures');

/** A JSON value's field paths with their types (`/timeline/[]/cost:number`); null counts as any type. */
function pathsOf(v: unknown, p = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) pathsOf(x, `${p}/[]`, out);
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, `${p}/${k}`, out);
  else if (v !== null) out.add(`${p}:${typeof v}`);
  else out.add(`${p}:null`);
  return out;
}
/** Whether `set` has the path `p` names with its type (a null on either side matches any type). */
function within(p: string, set: Set<string>): boolean {
  const [path, type] = p.split(':') as [string, string];
  return set.has(p) || set.has(`${path}:null`) || (type === 'null' && [...set].some((q) => q.startsWith(`${path}:`)));
}

const nid = () => fakeId('04l', notification++);
const ACTION = fakeId('04k', 1);
const STRANGER = fakeId('00D', 999);

/** Connects the org as an admin would: the link from the admin API, Salesforce's consent, our callback. */
async function connect(harness: Harness, sf: FakeSalesforce, orgId: string): Promise<string> {
  const start = await harness.api('admin').post('/api/v1/salesforce/connect').expect(200);
  const link = new URL(start.body.authorizeUrl as string);
  expect(`${link.origin}${link.pathname}`).toBe(`${sf.url}/services/oauth2/authorize`);
  expect(link.searchParams.get('client_id')).toBe(sf.clientId);
  const state = link.searchParams.get('state') as string;
  const res = await request(harness.url)
    .get('/salesforce/oauth/callback')
    .query({ code: sf.authorizationCode(orgId, REDIRECT), state })
    .expect(200);
  expect(res.headers['cache-control']).toBe('no-store');
  const key = /<pre>(sbp_[\w-]+)<\/pre>/.exec(res.text)?.[1];
  expect(key).toBeDefined();
  return key as string;
}

/** Settles until `fn` holds (Change Data Capture arrives over a long poll, not in a round). */
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await h.settle();
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const contactOf = async (sfId: string) => {
  const c = await h.store.contacts.findByIdentity('salesforce', `${ORG}:${sfId}`);
  if (c === null) throw new Error(`no contact for ${sfId}`);
  return c;
};
const eventsOf = async (contactId: string, type: string) =>
  h.db.selectFrom('contact_events').select(['id', 'object_id']).where('contact_id', '=', contactId).where('type', '=', type).execute();
const panel = (recordId: string, key = panelKey, org = ORG) =>
  request(h.url).get('/salesforce/panel').query({ recordId }).set('x-signalbox-panel-key', key).set('x-signalbox-org-id', org);
const outbound = (body: string, path = '/hooks/salesforce/outbound') =>
  request(h.url).post(path).set('content-type', 'text/xml; charset=utf-8').set('soapaction', '""').send(body);

describe('Salesforce', () => {
  beforeEach(async () => {
    fake = new FakeSalesforce({ now: () => (h ? h.clock.now().getTime() : Date.parse(MORNING)) });
    await fake.start();
    const org = fake.org();
    ORG = org.id;
    // the org's payment object, followed through Change Data Capture
    org.defineObject('Invoice__c', 'a0I', [
      { name: 'Status__c', type: 'picklist', picklist: ['Draft', 'Overdue', 'Paid'] },
      { name: 'Contact__c', type: 'reference', refersTo: ['Contact'] },
      { name: 'Amount__c', type: 'currency' },
    ]);
    amina = fake.userCreates(ORG, 'Contact', {
      FirstName: 'Amina',
      LastName: 'W',
      MobilePhone: '+254711000101',
      Email: 'amina@example.com',
      HasOptedOutOfEmail: true,
      Signalbox_Time_Zone__c: 'Africa/Nairobi',
    }).Id as string;
    otieno = fake.userCreates(ORG, 'Contact', { FirstName: 'Otieno', LastName: 'K', MobilePhone: '+254 711 000 102' }).Id as string;
    fake.userCreates(ORG, 'Lead', { LastName: 'Njeri', Company: 'Njeri Ltd', Email: 'njeri@example.com', Status: 'Open - Not Contacted' });
    h = await startHarness({
      at: MORNING,
      salesforce: {
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        loginUrl: fake.url,
        cdcEntities: ['Contact', 'Lead', 'Case', 'Opportunity', 'Invoice__c'],
      },
    });
    panelKey = await connect(h, fake, ORG);
    await h.settle(); // initial sync, Change Data Capture subscribed
  });
  afterEach(async () => {
    await h.close();
    await fake.stop();
  });

  it('connecting an org: tokens sealed, contacts and leads synced with their consent, the panel key issued', async () => {
    const row = await h.db.selectFrom('crm_portals').selectAll().where('crm', '=', 'salesforce').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ portal_id: ORG, status: 'active' });
    expect(row.tokens).not.toMatch(/access|00D/); // sealed
    const a = await contactOf(amina);
    expect(a.identities.map((i) => `${i.kind}:${i.value}`).sort()).toEqual([
      'email:amina@example.com',
      'phone:+254711000101',
      `salesforce:${ORG}:${amina}`,
    ]);
    expect(a.timezone).toBe('Africa/Nairobi');
    expect((await contactOf(otieno)).identities.find((i) => i.kind === 'phone')?.value).toBe('+254711000102');
    expect(await h.store.contacts.findByIdentity('email', 'njeri@example.com')).not.toBeNull();
    // HasOptedOutOfEmail: marketing e-mail revoked in the ledger
    const consent = await h.store.consent.of(a.id);
    expect(consent.some((c) => c.channel === 'email' && c.status === 'revoked')).toBe(true);
    // a forged callback (a state we never issued) is refused; so is a denied authorisation
    await request(h.url).get('/salesforce/oauth/callback').query({ code: 'x', state: '1-abc.forged' }).expect(400);
    const start = await h.api('admin').post('/api/v1/salesforce/connect').expect(200);
    const state = new URL(start.body.authorizeUrl as string).searchParams.get('state') as string;
    const denied = await request(h.url)
      .get('/salesforce/oauth/callback')
      .query({ error: 'access_denied', error_description: 'end-user denied authorization', state })
      .expect(400);
    expect(denied.body.code).toBe('OAUTH_DENIED');
    // only an admin may start connecting an org
    await h.api('agent').post('/api/v1/salesforce/connect').expect(403);
  });

  it('a Case opened in Salesforce (Change Data Capture) suppresses a promotional message; the panel sends through the same policy', async () => {
    const a = await contactOf(amina);
    const caseId = fake.userCreates(ORG, 'Case', { ContactId: amina, Subject: 'Router down', Status: 'New' }).Id as string;
    await until('the case on Amina', async () => (await eventsOf(a.id, 'ticket.opened')).length === 1);
    const promo = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id: a.id }, message: { type: 'promotional', template: 'black_friday' } })
      .expect(202);
    expect(promo.body.decision.outcome).toBe('suppress');
    // from the panel on the Case record: the case's contact, the same refusal and its reason
    const send = await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-panel-key', panelKey)
      .set('x-signalbox-org-id', ORG.slice(0, 15))
      .set('x-signalbox-user-id', '0055g00000AGENT')
      .send({ recordId: caseId, messageType: 'promotional', template: null })
      .expect(200);
    expect(send.body).toMatchObject({ status: 'suppressed', outcome: 'suppress', channel: null });
    expect(send.body.reasons.map((r: { code: string }) => r.code)).toContain('suppressed');
    const queued = await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-panel-key', panelKey)
      .set('x-signalbox-org-id', ORG)
      .send({ recordId: amina, messageType: 'transactional', template: 'order_shipped' })
      .expect(202);
    // a template written for another type of message is refused at the panel's own field
    const mismatch = await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-panel-key', panelKey)
      .set('x-signalbox-org-id', ORG)
      .send({ recordId: amina, messageType: 'transactional', template: 'order_update' })
      .expect(422);
    expect(mismatch.body).toMatchObject({ code: 'TEMPLATE_TYPE_MISMATCH', errors: [{ path: '/messageType' }] });
    expect(queued.body).toMatchObject({ status: 'queued', outcome: 'send', channel: 'sms' });
    const m = await h.db.selectFrom('messages').selectAll().where('id', '=', queued.body.messageId).executeTakeFirstOrThrow();
    expect(m).toMatchObject({ team: 'salesforce-panel', workflow: 'agent:unknown' });
    // one click of Send carries a key: its retry (a callout that timed out, a second click) answers
    // with the first message, never a second one; the key on another send is refused
    const click = (
      key: unknown,
      body: Record<string, unknown> = { recordId: amina, messageType: 'service', template: 'callback_scheduled' },
    ) =>
      request(h.url)
        .post('/salesforce/panel/send')
        .set('x-signalbox-panel-key', panelKey)
        .set('x-signalbox-org-id', ORG)
        .send({ ...body, idempotencyKey: key });
    const first = await click('3b1f0c5e-9d7a-4e2b-8f61-0a9c2d4e6b10').expect(202);
    const again = await click('3b1f0c5e-9d7a-4e2b-8f61-0a9c2d4e6b10').expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body).toEqual(first.body);
    const other = await click('3b1f0c5e-9d7a-4e2b-8f61-0a9c2d4e6b10', {
      recordId: amina,
      messageType: 'service',
      template: 'technician_visit',
    }).expect(409);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ path: '/idempotencyKey' }] });
    expect((await click('short').expect(400)).body.errors[0].path).toBe('/idempotencyKey');
    expect((await click(12345678).expect(400)).body.errors[0].path).toBe('/idempotencyKey');
    const sends = await h.db
      .selectFrom('messages')
      .select('id')
      .where('template', '=', 'callback_scheduled')
      .where('contact_id', '=', a.id)
      .execute();
    expect(sends).toHaveLength(1);
    // the panel on the Case shows Amina's story: the case, both decisions with their reasons
    const view = await panel(caseId).expect(200);
    expect(view.body.contact.id).toBe(a.id);
    expect(view.body.timeline.map((t: { title: string }) => t.title)).toContain('ticket.opened');
    expect(view.body.decisions.map((d: { outcome: string }) => d.outcome)).toEqual(expect.arrayContaining(['suppress', 'send']));
  });

  it('an Opportunity closed-won, its Outbound Message delivered three times: three ACKs, one post-purchase journey', async () => {
    const a = await contactOf(amina);
    const opp = fake.userCreates(ORG, 'Opportunity', {
      Name: 'Fibre 100',
      StageName: 'Negotiation/Review',
      CloseDate: '2026-11-30',
      ContactId: amina,
    }).Id as string;
    const id = nid();
    const message = {
      organizationId: ORG,
      actionId: ACTION,
      sObjectType: 'Opportunity',
      notifications: [{ id, fields: { Id: opp, StageName: 'Closed Won', Amount: 1200, LastModifiedDate: '2026-11-23T06:59:00.000Z' } }],
      sessionId: '00D!AQ0AQ.secret-session',
    };
    const url = `${h.url}/hooks/salesforce/outbound`;
    for (let i = 0; i < 3; i++) {
      const r = await fake.deliverOutboundMessage(url, message, { maxAttempts: 1 });
      expect(r.acked).toBe(true);
    }
    await h.settle();
    expect(await eventsOf(a.id, 'order.placed')).toHaveLength(1);
    const journeys = await h.db
      .selectFrom('journey_instances')
      .select(['journey_id', 'status'])
      .where('contact_id', '=', a.id)
      .where('journey_id', '=', 'post-purchase')
      .execute();
    expect(journeys).toEqual([{ journey_id: 'post-purchase', status: 'active' }]);
    const sends = (await h.store.sandbox.sends()).filter((s) => s.address === '+254711000101');
    expect(sends).toHaveLength(1);
    // the session id Salesforce included is a live credential: never stored
    const raw = await h.db.selectFrom('inbox').select('payload').where('source', '=', 'salesforce').execute();
    expect(JSON.stringify(raw)).not.toContain('secret-session');
  });

  it('an invoice paid in Salesforce stops the payment-reminder journey; the reminder is one completed Task on the right Contact, even across a crash', async () => {
    const o = await contactOf(otieno);
    const invoice = fake.userCreates(ORG, 'Invoice__c', { Name: 'INV-1', Status__c: 'Overdue', Contact__c: otieno, Amount__c: 40 })
      .Id as string;
    await until('the friendly reminder', async () => (await h.store.sandbox.sends()).some((s) => s.address === '+254711000102'));
    await until('its Task', async () => [...fake.org(ORG).table('Task').rows.values()].length === 1);
    const tasks = () => [...fake.org(ORG).table('Task').rows.values()];
    const [task] = tasks();
    const [message] = await h.db.selectFrom('messages').select(['id']).where('contact_id', '=', o.id).execute();
    expect(task).toMatchObject({ WhoId: otieno, Status: 'Completed', Signalbox_Channel__c: 'sms', Signalbox_Message_Id__c: message?.id });
    expect(String(task?.Subject)).toContain('payment_reminder_friendly');
    // the outcome follows delivery: the same Task, rewritten once the receipts came (sent → read)
    await until('the final outcome on the Task', async () => tasks()[0]?.Signalbox_Outcome__c === 'read');
    expect(tasks()).toHaveLength(1);
    // Signalbox's fields on the contact
    expect(fake.org(ORG).get('Contact', otieno)).toMatchObject({ Signalbox_Messages_30d__c: 1, Signalbox_Preferred_Channel__c: 'sms' });
    // a crash after the Task was written but before we recorded it: written again, still one Task
    await h.db.deleteFrom('crm_writebacks').execute();
    await h.system.runtime.choresNow();
    expect(tasks()).toHaveLength(1);
    expect((await h.db.selectFrom('crm_writebacks').selectAll().execute()).map((w) => w.message_id)).toEqual([message?.id]);
    // paid the next day, in Salesforce: the journey ends, no firm reminder three days later
    h.clock.advance(DAY);
    fake.userUpdates(ORG, 'Invoice__c', invoice, { Status__c: 'Paid' });
    await until('the payment', async () => (await eventsOf(o.id, 'invoice.paid')).length === 1);
    await h.advance(3 * DAY);
    expect((await h.store.sandbox.sends()).filter((s) => s.address === '+254711000102')).toHaveLength(1);
    const j = await h.db.selectFrom('journey_instances').select(['status']).where('contact_id', '=', o.id).executeTakeFirstOrThrow();
    expect(j.status).not.toBe('active');
  });

  it('Change Data Capture: a dropped connection and a subscriber killed mid-stream both resume from the stored replay id, losing and repeating nothing', async () => {
    const a = await contactOf(amina);
    const o = await contactOf(otieno);
    const opened = async () => {
      const rows = await h.db.selectFrom('contact_events').select(['object_id']).where('type', '=', 'ticket.opened').execute();
      return rows.map((r) => r.object_id).sort();
    };
    const c1 = fake.userCreates(ORG, 'Case', { ContactId: amina, Subject: 'one' }).Id as string;
    await until('case one', async () => (await opened()).length === 1);
    // the server drops every client: they reconnect (handshake again) and replay from their last id
    fake.cometd.dropClients();
    const c2 = fake.userCreates(ORG, 'Case', { ContactId: otieno, Subject: 'two' }).Id as string;
    await until('case two', async () => (await opened()).length === 2);
    // the subscriber is killed (as a process is): a new one starts from the replay id it stored
    await h.system.salesforce?.stop();
    const c3 = fake.userCreates(ORG, 'Case', { ContactId: amina, Subject: 'three' }).Id as string;
    const c4 = fake.userCreates(ORG, 'Case', { ContactId: otieno, Subject: 'four' }).Id as string;
    await until('cases three and four', async () => (await opened()).length === 4);
    await new Promise((r) => setTimeout(r, 300));
    await h.settle();
    expect(await opened()).toEqual([c1, c2, c3, c4].map((id) => `${ORG}:${id}`).sort());
    expect((await eventsOf(a.id, 'ticket.opened')).length + (await eventsOf(o.id, 'ticket.opened')).length).toBe(4);
  });

  it("the record panel's answers have exactly the shape the LWC is tested against (integrations/salesforce/fixtures)", async () => {
    const a = await contactOf(amina);
    // Amina's story: an overdue invoice (a reminder, read), a case opened, a promotion refused, a service message
    fake.userCreates(ORG, 'Invoice__c', { Name: 'INV-2', Status__c: 'Overdue', Contact__c: amina });
    await until('the reminder', async () => (await h.store.sandbox.sends()).length === 1);
    fake.userCreates(ORG, 'Case', { ContactId: amina, Subject: 'Router down', Status: 'New' });
    await until('the case', async () => (await eventsOf(a.id, 'ticket.opened')).length === 1);
    h.clock.advance(20 * 60_000);
    const refused = await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-panel-key', panelKey)
      .set('x-signalbox-org-id', ORG)
      .send({ recordId: amina, messageType: 'promotional', template: 'black_friday' })
      .expect(200);
    const queued = await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-panel-key', panelKey)
      .set('x-signalbox-org-id', ORG)
      .send({ recordId: amina, messageType: 'service', template: 'technician_visit' })
      .expect(202);
    await h.settle();
    h.clock.advance(5 * 60_000);
    const view = await panel(amina).expect(200);
    expect(view.body.contact.id).toBe(a.id);
    const empty = await panel(fake.userCreates(ORG, 'Contact', { LastName: 'New', MobilePhone: '+254711000199' }).Id as string).expect(200);
    const orphan = await panel(fake.userCreates(ORG, 'Case', { Subject: 'no contact' }).Id as string).expect(404);
    const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as unknown;
    for (const [name, answer] of [
      ['agent-view.json', view.body],
      ['agent-view-empty.json', empty.body],
      ['send-suppressed.json', refused.body],
      ['send-queued.json', queued.body],
      ['contact-not-found.json', orphan.body],
    ] as const) {
      // SIGNALBOX_RECORD_FIXTURES=1 writes the server's answers as the LWC's fixtures
      if (process.env.SIGNALBOX_RECORD_FIXTURES === '1') writeFileSync(join(FIXTURES, name), `${JSON.stringify(answer, null, 2)}\n`);
      // every field the LWC is tested with is one the server sends, and every kind of field the server sends is in the fixture
      const f = pathsOf(fixture(name));
      const real = pathsOf(answer);
      expect(
        [...f].filter((p) => !within(p, real)),
        `${name}: fields the server does not send`,
      ).toEqual([]);
      expect(
        [...real].filter((p) => !within(p, f) && !p.startsWith('/errors')),
        `${name}: fields the fixture lacks`,
      ).toEqual([]);
    }
  });

  it('refuses XXE, entity expansion, an unknown org, a wrong secret path and forged panel calls with a 4xx, storing nothing', async () => {
    const before = await h.db
      .selectFrom('inbox')
      .select(({ fn }) => fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const good = outboundEnvelope({
      organizationId: ORG,
      actionId: ACTION,
      sObjectType: 'Contact',
      notifications: [{ id: nid(), fields: { Id: amina } }],
    });
    const xxe = good.replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    );
    const r1 = await outbound(xxe).expect(400);
    expect(r1.headers['content-type']).toContain('application/problem+json');
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${good.slice(good.indexOf('<soapenv:Envelope'))}`;
    await outbound(lol).expect(400);
    const stranger = outbound(good.replaceAll(ORG, STRANGER));
    expect((await stranger.expect(403)).body.code).toBe('SALESFORCE_ORG_UNKNOWN');
    await outbound('<not-soap/>').expect(400);
    await request(h.url).post('/hooks/salesforce/outbound').set('content-type', 'application/json').send('{}').expect(415);
    const after = await h.db
      .selectFrom('inbox')
      .select(({ fn }) => fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    // the same message from the connected org is acknowledged
    const ok = await outbound(good).expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/xml/);
    expect(ok.text).toContain('<Ack>true</Ack>');
    // panel: no key, a wrong key, the right key for another org, an org that never connected
    await request(h.url).get('/salesforce/panel').query({ recordId: amina }).expect(401);
    expect((await panel(amina, `${panelKey.slice(0, -2)}xx`).expect(401)).body.code).toBe('PANEL_AUTH_INVALID');
    await panel(amina, panelKey, STRANGER).expect(401);
    await request(h.url)
      .post('/salesforce/panel/send')
      .set('x-signalbox-org-id', ORG)
      .send({ recordId: amina, messageType: 'promotional' })
      .expect(401);
    // a record the panel is not shown on, a malformed id, a contact nobody linked
    expect((await panel('001000000000001AAA').expect(400)).body.errors[0].path).toBe('/query/recordId');
    expect((await panel('not-an-id').expect(400)).body.errors[0].path).toBe('/query/recordId');
    const orphan = fake.userCreates(ORG, 'Case', { Subject: 'no contact' }).Id as string;
    expect((await panel(orphan).expect(404)).body).toMatchObject({ code: 'CONTACT_NOT_FOUND', status: 404 });
    // a rotated key: the old one stops working at once
    const rotated = await h.api('admin').post(`/api/v1/salesforce/orgs/${ORG}/panel-key`).expect(200);
    expect(rotated.body.panelKey).not.toBe(panelKey);
    await panel(amina).expect(401);
    await panel(amina, rotated.body.panelKey).expect(200);
    await h.api('admin').post(`/api/v1/salesforce/orgs/${STRANGER}/panel-key`).expect(404);
  });
});

describe('Salesforce with a secret Outbound Message path, connected server to server (JWT bearer)', () => {
  const SECRET = 'om-path-secret-0123456789';
  beforeEach(async () => {
    fake = new FakeSalesforce({ now: () => (h ? h.clock.now().getTime() : Date.parse(MORNING)) });
    await fake.start();
    ORG = fake.org().id;
    amina = fake.userCreates(ORG, 'Contact', { LastName: 'Amina', MobilePhone: '+254711000101' }).Id as string;
    const privateKeyPem = fake.jwtKeyPair();
    fake.jwtUser(ORG, 'signalbox@acme.example');
    h = await startHarness({
      at: MORNING,
      salesforce: {
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        loginUrl: fake.url,
        cdc: false,
        outboundSecret: SECRET,
        jwt: { privateKeyPem, username: 'signalbox@acme.example' },
      },
    });
    await h.settle();
  });
  afterEach(async () => {
    await h.close();
    await fake.stop();
  });

  it('connects the JWT user’s org at start, syncs it, and accepts Outbound Messages only on the secret path', async () => {
    expect(await h.store.contacts.findByIdentity('salesforce', `${ORG}:${amina}`)).not.toBeNull();
    const body = outboundEnvelope({
      organizationId: ORG,
      actionId: ACTION,
      sObjectType: 'Contact',
      notifications: [{ id: nid(), fields: { Id: amina, MobilePhone: '+254711000109' } }],
    });
    expect((await outbound(body).expect(403)).body.code).toBe('OUTBOUND_SECRET_INVALID');
    await outbound(body, '/hooks/salesforce/outbound/not-the-secret-0000000').expect(403);
    await outbound(body, `/hooks/salesforce/outbound/${SECRET}`).expect(200);
    await h.settle();
    const events = await h.db.selectFrom('contact_events').select(['type']).execute();
    expect(events.map((e) => e.type)).toContain('contact.updated');
  });
});

describe('a customer in both CRMs', () => {
  const PORTAL = 62515;
  let hubspot: FakeHubspot;
  beforeEach(async () => {
    fake = new FakeSalesforce({ now: () => (h ? h.clock.now().getTime() : Date.parse(MORNING)) });
    hubspot = new FakeHubspot();
    await Promise.all([fake.start(), hubspot.start()]);
    ORG = fake.org().id;
    amina = fake.userCreates(ORG, 'Contact', { LastName: 'Amina', MobilePhone: '+254711000101', Signalbox_Time_Zone__c: 'Africa/Nairobi' })
      .Id as string;
    hubspot.upsertObject(PORTAL, 'contacts', '901', {
      email: 'amina@example.com',
      phone: '+254 711 000101',
      hs_timezone: 'Africa/Nairobi',
    });
    h = await startHarness({
      at: MORNING,
      salesforce: { clientId: fake.clientId, clientSecret: fake.clientSecret, loginUrl: fake.url, cdc: false },
      hubspot: { clientId: hubspot.clientId, clientSecret: hubspot.clientSecret, apiBase: hubspot.url },
    });
    panelKey = await connect(h, fake, ORG);
    const install = await request(h.url).get('/hubspot/install').set('authorization', `Bearer ${KEYS.admin}`).expect(302);
    const state = new URL(install.headers.location as string).searchParams.get('state') as string;
    await request(h.url)
      .get('/hubspot/oauth/callback')
      .query({ code: hubspot.authorizationCode(PORTAL), state })
      .expect(200);
    await h.settle();
  });
  afterEach(async () => {
    await h.close();
    await Promise.all([fake.stop(), hubspot.stop()]);
  });

  it('is one Signalbox contact; a reminder a HubSpot invoice caused shows in the Salesforce panel and is logged in both', async () => {
    const viaSalesforce = await h.store.contacts.findByIdentity('salesforce', `${ORG}:${amina}`);
    const viaHubspot = await h.store.contacts.findByIdentity('hubspot', `${PORTAL}:901`);
    expect(viaSalesforce?.id).toBeDefined();
    expect(viaHubspot?.id).toBe(viaSalesforce?.id);
    expect(viaSalesforce?.identities.map((i) => i.kind).sort()).toEqual(['email', 'hubspot', 'phone', 'salesforce']);
    // an invoice overdue in HubSpot
    hubspot.upsertObject(PORTAL, 'invoices', '777', { hs_invoice_status: 'overdue' }, ['901']);
    const res = await hubspot.sendWebhooks(`${h.url}/hooks/hubspot/webhooks`, [
      {
        eventId: 1,
        subscriptionId: 1,
        portalId: PORTAL,
        appId: 1,
        occurredAt: h.clock.now().getTime(),
        attemptNumber: 0,
        changeSource: 'CRM_UI',
        subscriptionType: 'invoice.propertyChange',
        objectId: 777,
        propertyName: 'hs_invoice_status',
        propertyValue: 'overdue',
      },
    ]);
    expect(res.status).toBe(200);
    await h.settle();
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.address)).toEqual(['+254711000101']);
    // the Salesforce agent sees it, with the HubSpot event behind it
    const view = await panel(amina).expect(200);
    const titles = view.body.timeline.map((t: { title: string }) => t.title);
    expect(titles).toContain('invoice.overdue');
    expect(titles.some((t: string) => t.startsWith('payment_reminder_friendly'))).toBe(true);
    expect(view.body.journeys.map((j: { journey: string }) => j.journey)).toEqual(['payment-reminder']);
    // logged on both timelines: a Communication in HubSpot, a Task in Salesforce
    await h.settle();
    expect([...(hubspot.portal(PORTAL).objects.communications?.values() ?? [])]).toHaveLength(1);
    expect([...fake.org(ORG).table('Task').rows.values()].map((t) => t.WhoId)).toEqual([amina]);
  });
});
