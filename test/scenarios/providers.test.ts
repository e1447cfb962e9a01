/**
 * Issue 16's provider stories through the real providers' local fakes: Twilio (official SDK against
 * a fake speaking its wire format, status callbacks and inbound messages signed as Twilio signs),
 * Telerivet (REST, secret-bearing callbacks) and SMTP (nodemailer into a local smtp-server), with
 * the app over real HTTP and time moved by a test clock.
 */
import { sign } from '@signalbox/app';
import { FakeSmtp, FakeTelerivet, FakeTwilio } from '@signalbox/app/testing';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const MIN = 60_000;
// 10:00 in Nairobi
const MORNING = '2026-11-23T07:00:00Z';
const SID = `AC${'7'.repeat(32)}`;
const TOKEN = 'twilio-auth-token-0123456789';
const SMS_FROM = '+15005550006';
const WA_FROM = '+15005550007';
const REPORTS_SECRET = 'email-reports-secret-0123456789';
const UNSUBSCRIBE_SECRET = 'email-unsubscribe-secret-0123456789';
const STATUS_SECRET = 'telerivet-status-secret-0123';

let h: Harness;
let twilio: FakeTwilio;
let telerivet: FakeTelerivet;
let smtp: FakeSmtp;

beforeEach(async () => {
  twilio = new FakeTwilio(SID, TOKEN);
  telerivet = new FakeTelerivet('telerivet-api-key-0123456789', 'PJfake0001');
  smtp = new FakeSmtp();
  await Promise.all([twilio.start(), telerivet.start(), smtp.start()]);
});
afterEach(async () => {
  await h?.close();
  await Promise.all([twilio.stop(), telerivet.stop(), smtp.stop()]);
});

async function start(
  routes = 'sms=twilio,telerivet;whatsapp=twilio;voice=twilio;email=smtp;ussd=telerivet',
  o: { postgresSchema?: string } = {},
) {
  h = await startHarness({
    at: MORNING,
    ...o,
    providers: {
      routes,
      twilio: {
        accountSid: SID,
        authToken: TOKEN,
        apiBase: twilio.url,
        smsFrom: [SMS_FROM],
        whatsappFrom: WA_FROM,
        voiceFrom: SMS_FROM,
        contentSids: {},
        mps: 100,
        machineDetection: true,
        maxRetries: 0,
      },
      telerivet: {
        apiKey: telerivet.apiKey,
        projectId: telerivet.projectId,
        apiBase: telerivet.url,
        statusSecret: STATUS_SECRET,
        webhookSecret: 'telerivet-webhook-secret-0123',
        chatRoutes: { whatsapp: 'PNwhatsapp01' },
        perSecond: 100,
      },
      smtp: {
        url: smtp.url,
        from: 'Signalbox <hello@signalbox.example>',
        unsubscribeSecret: UNSUBSCRIBE_SECRET,
        reportSecret: REPORTS_SECRET,
        perSecond: 100,
        ignoreTls: true,
      },
    },
  });
}

/** Runs the worker, lets the fakes' callbacks arrive, and again, until nothing moves. */
async function settle() {
  for (let i = 0; i < 4; i++) {
    await h.settle();
    await Promise.all([twilio.settled(), telerivet.settled()]);
  }
}

async function advance(ms: number) {
  h.clock.advance(ms);
  await settle();
}

async function contact(extra: Record<string, unknown>) {
  const res = await h
    .api('integration')
    .post('/api/v1/contacts')
    .send({ market: 'KE', timezone: 'Africa/Nairobi', smartphone: true, ...extra })
    .expect(201);
  return res.body.contact.id as string;
}
const phone = (p: string, extra: Record<string, unknown> = {}) => contact({ identities: [{ kind: 'phone', value: p }], ...extra });

async function send(contactId: string, message: Record<string, unknown>) {
  return (
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id: contactId }, message })
      .expect(202)
  ).body as { messageId: string; decision: { plan: Array<{ channel: string }> } };
}

const attempts = async (messageId: string) =>
  (await h.api('agent').get(`/api/v1/messages/${messageId}`).expect(200)).body.attempts as Array<{
    channel: string;
    provider: string;
    status: string;
    route: string | null;
    error: string | null;
  }>;

const to = (r: { params: URLSearchParams }) => r.params.get('To');

describe('Twilio', () => {
  it('WhatsApp not delivered (63016, outside the window) → SMS exactly once, receipts through signed status callbacks', async () => {
    await start();
    twilio.rules = [{ to: '^whatsapp:', statuses: ['sent', 'failed'], errorCode: 63016 }];
    const id = await phone('+254711000301', { capabilities: { whatsapp: true } });
    const m = await send(id, { type: 'service', template: 'order_update' });
    expect(m.decision.plan.map((s) => s.channel)).toEqual(['whatsapp', 'sms']);
    await settle();
    expect(twilio.messages().map(to)).toEqual(['whatsapp:+254711000301', '+254711000301']);
    // the SMS's own receipts came back signed and moved it on; nothing more goes out later
    await advance(30 * MIN);
    expect(twilio.messages()).toHaveLength(2);
    const sms = twilio.messages()[1]?.params;
    expect(sms?.get('From')).toBe(SMS_FROM);
    expect(sms?.get('StatusCallback')).toBe(`${h.url}/hooks/twilio/status`);
    expect(sms?.get('Body')).toMatch(/\S/);
    expect((await attempts(m.messageId)).map((a) => `${a.channel}:${a.provider}:${a.status}`)).toEqual([
      'whatsapp:twilio:failed',
      'sms:twilio:delivered',
    ]);
  });

  it('a template mapped to an approved WhatsApp template but without its Content SID still goes inside the window, as a session message', async () => {
    await start();
    const id = await phone('+254711000318', { capabilities: { whatsapp: true } });
    // the contact wrote on WhatsApp: the 24 h window is open
    expect(
      (
        await twilio.inbound(`${h.url}/hooks/twilio/inbound`, {
          from: 'whatsapp:+254711000318',
          to: `whatsapp:${WA_FROM}`,
          body: 'hello there',
        })
      ).status,
    ).toBe(200);
    await settle();
    const m = await send(id, { type: 'service', template: 'appointment_confirmed', variables: { time: '10:00', place: 'Westlands' } });
    expect(m.decision.plan[0]?.channel).toBe('whatsapp');
    await settle();
    const [wa] = twilio.messages();
    expect(wa && to(wa)).toBe('whatsapp:+254711000318');
    expect(wa?.params.get('ContentSid')).toBeNull();
    expect(wa?.params.get('Body')).toMatch(/\S/);
    expect((await attempts(m.messageId))[0]).toMatchObject({ channel: 'whatsapp', provider: 'twilio', error: null });
  });

  it('urgent → a voice call with TwiML <Say> and machine detection, plus the SMS follow-up', async () => {
    await start();
    const id = await phone('+254711000302');
    const m = await send(id, {
      type: 'urgent',
      template: 'payment_reminder_call',
      object: { type: 'invoice', id: 'INV-302' },
      variables: { amount: '1,200', currency: 'KES' },
    });
    await settle();
    const call = twilio.calls()[0]?.params;
    expect(call?.get('To')).toBe('+254711000302');
    expect(call?.get('MachineDetection')).toBe('Enable');
    expect(call?.get('Twiml')).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><Response><Say language="en-US" voice="woman">.+<\/Say><\/Response>$/,
    );
    // the rendered script is what is said
    expect(call?.get('Twiml')).toContain('invoice INV-302, for 1,200 KES');
    expect(call?.get('StatusCallback')).toBe(`${h.url}/hooks/twilio/calls/status`);
    // the SMS follow-up two minutes after the call
    expect(twilio.messages()).toEqual([]);
    await advance(2 * MIN);
    expect(twilio.messages().map(to)).toEqual(['+254711000302']);
    const list = await attempts(m.messageId);
    expect(list.map((a) => `${a.channel}:${a.provider}`).sort()).toEqual(['sms:twilio', 'voice:twilio']);
    // answered by a person: the call's completed callback is its delivery
    expect(list.find((a) => a.channel === 'voice')?.status).toBe('delivered');
  });

  it("STOP by SMS through Twilio's inbound webhook revokes consent; the confirmation goes out once", async () => {
    await start();
    const id = await phone('+254711000303');
    const inbound = `${h.url}/hooks/twilio/inbound`;
    const stop = { from: '+254711000303', to: SMS_FROM, body: 'Stop', sid: `SM${'c'.repeat(32)}` };
    const r = await twilio.inbound(inbound, stop);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<Response/>');
    // Twilio retries a webhook it thinks failed: the same MessageSid changes nothing more
    expect((await twilio.inbound(inbound, stop)).status).toBe(200);
    await settle();
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    // the retry applied nothing: one line per purpose
    expect(ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}/${c.source}`)).toEqual([
      'sms/marketing/revoked/keyword',
      'sms/service/revoked/keyword',
    ]);
    expect(twilio.messages().map(to)).toEqual(['+254711000303']);
    // a service SMS is no longer sent
    const m = await send(id, { type: 'service', template: 'order_update' });
    await settle();
    expect(m.decision.plan.map((s) => s.channel)).not.toContain('sms');
    expect(twilio.messages()).toHaveLength(1);
  });

  it('an old START sent again (Twilio signs no time) does not undo a later STOP: each MessageSid is applied once', async () => {
    await start();
    const id = await phone('+254711000398');
    const inbound = `${h.url}/hooks/twilio/inbound`;
    const from = { from: '+254711000398', to: SMS_FROM };
    const startMsg = { ...from, body: 'START', sid: `SM${'d'.repeat(32)}` };
    expect((await twilio.inbound(inbound, startMsg)).status).toBe(200);
    expect((await twilio.inbound(inbound, { ...from, body: 'STOP', sid: `SM${'e'.repeat(32)}` })).status).toBe(200);
    expect((await twilio.inbound(inbound, startMsg)).status).toBe(200);
    await settle();
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    // (the first START had nothing to undo: it granted nothing)
    expect(ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}`)).toEqual(['sms/marketing/revoked', 'sms/service/revoked']);
  });

  it('Advanced Opt-Out: a keyword Twilio recognised in its own words (OptOutType) changes the ledger; Twilio has answered it', async () => {
    await start();
    const id = await phone('+254711000316');
    const inbound = `${h.url}/hooks/twilio/inbound`;
    const from = { from: '+254711000316', to: SMS_FROM };
    expect((await twilio.inbound(inbound, { ...from, body: 'ARRET', optOutType: 'STOP', sid: `SM${'1'.repeat(32)}` })).status).toBe(200);
    await settle();
    const ledger = async () =>
      ((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>).map(
        (c) => `${c.channel}/${c.purpose}/${c.status}/${c.source}`,
      );
    expect(await ledger()).toEqual(['sms/marketing/revoked/keyword', 'sms/service/revoked/keyword']);
    // Twilio sent its configured reply: no second confirmation from us
    expect(twilio.messages()).toEqual([]);
    h.clock.advance(MIN);
    expect((await twilio.inbound(inbound, { ...from, body: 'ENCORE', optOutType: 'START', sid: `SM${'2'.repeat(32)}` })).status).toBe(200);
    await settle();
    expect((await ledger()).slice(2)).toEqual(['sms/service/granted/keyword']);
    expect(twilio.messages()).toEqual([]);
    // Twilio says STOP for STOPALL too: ours says more, and stands (every channel)
    const all = await phone('+254711000319');
    expect(
      (
        await twilio.inbound(inbound, {
          from: '+254711000319',
          to: SMS_FROM,
          body: 'STOPALL',
          optOutType: 'STOP',
          sid: `SM${'3'.repeat(32)}`,
        })
      ).status,
    ).toBe(200);
    await settle();
    const allLedger = (await h.api('agent').get(`/api/v1/contacts/${all}/consent`).expect(200)).body.ledger as Array<
      Record<string, string>
    >;
    expect([...new Set(allLedger.map((c) => c.channel))]).toEqual(['*']);
  });

  it('START after Twilio blocked the number (21610) lifts the block: transactional SMS go again', async () => {
    await start('sms=twilio');
    twilio.rules = [{ to: '^\\+254711000317$', error: 21610 }];
    const id = await phone('+254711000317');
    await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    twilio.rules = [];
    h.clock.advance(MIN);
    expect((await twilio.inbound(`${h.url}/hooks/twilio/inbound`, { from: '+254711000317', to: SMS_FROM, body: 'START' })).status).toBe(
      200,
    );
    await settle();
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger[0]).toMatchObject({ channel: 'sms', purpose: '*', status: 'revoked', source: 'provider' });
    expect(
      ledger
        .slice(1)
        .map((c) => `${c.channel}/${c.purpose}/${c.status}`)
        .sort(),
    ).toEqual(['sms/service/granted', 'sms/transactional/granted']);
    const next = await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    expect(next.decision.plan.map((s) => s.channel)).toEqual(['sms', 'voice']);
  });

  it('a button payload from WhatsApp becomes the reply event (through the ruleset’s eventMap.provider)', async () => {
    await start();
    await phone('+254711000304', { capabilities: { whatsapp: true } });
    const r = await twilio.inbound(`${h.url}/hooks/twilio/inbound`, {
      from: 'whatsapp:+254711000304',
      to: `whatsapp:${WA_FROM}`,
      body: 'Confirm',
      buttonPayload: 'CONFIRM',
    });
    expect(r.status).toBe(200);
    const row = await h.db.selectFrom('inbox').select(['type', 'payload']).where('source', '=', 'provider').executeTakeFirstOrThrow();
    expect(row.type).toBe('reply.confirm');
    expect(JSON.parse(row.payload as string).data).toMatchObject({ channel: 'whatsapp', payload: 'CONFIRM' });
  });

  it('21610 (the recipient unsubscribed at Twilio) revokes SMS consent; 21211 (invalid number) marks the phone unreachable', async () => {
    await start('sms=twilio');
    twilio.rules = [
      { to: '^\\+254711000305$', error: 21610 },
      { to: '^\\+254711000306$', error: 21211 },
    ];
    const a = await phone('+254711000305');
    const b = await phone('+254711000306');
    await send(a, { type: 'transactional', template: 'dispatch_assigned' });
    await send(b, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${a}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}/${c.source}`)).toEqual(['sms/*/revoked/provider']);
    const contactB = (await h.api('agent').get(`/api/v1/contacts/${b}`).expect(200)).body.contact;
    expect(contactB.identities).toEqual([]);
    expect(contactB.unreachable).toMatchObject([{ kind: 'phone', value: '+254711000306', reason: expect.stringMatching(/21211/) }]);
    // the next message has no phone to go to: decided so, with the reason
    const next = await send(b, { type: 'transactional', template: 'dispatch_assigned' });
    expect(next.decision.plan).toEqual([]);
    await settle();
    expect(twilio.messages()).toHaveLength(2);
  });

  it('a status callback with 30006 (a landline) marks the phone unreachable; the plan’s next step follows', async () => {
    await start();
    // Twilio accepts the message, and reports later (posted below, once the send is recorded)
    twilio.rules = [{ to: '^\\+254711000311$', statuses: [] }];
    const id = await phone('+254711000311', {
      identities: [
        { kind: 'phone', value: '+254711000311' },
        { kind: 'email', value: 'land@example.com' },
      ],
    });
    const m = await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    const [sms] = await attempts(m.messageId);
    const sid = (sms as unknown as { providerMessageId: string }).providerMessageId;
    const fields = {
      MessageSid: sid,
      SmsSid: sid,
      AccountSid: SID,
      To: '+254711000311',
      From: SMS_FROM,
      MessageStatus: 'undelivered',
      ErrorCode: '30006',
    };
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, fields)).status).toBe(204);
    await settle();
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.unreachable).toMatchObject([
      { kind: 'phone', value: '+254711000311', reason: 'twilio: twilio 30006: landline or unreachable carrier' },
    ]);
    // the attempt says why, as a send refused at once does
    expect((await attempts(m.messageId))[0]).toMatchObject({
      status: 'undelivered',
      error: 'twilio 30006: landline or unreachable carrier',
    });
    // then the contact texts STOP from that very number: it is theirs and in use, and the STOP is confirmed there
    const before = twilio.messages().length;
    expect((await twilio.inbound(`${h.url}/hooks/twilio/inbound`, { from: '+254711000311', to: SMS_FROM, body: 'STOP' })).status).toBe(200);
    await settle();
    const after = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(after.unreachable ?? []).toEqual([]);
    expect(twilio.messages().slice(before).map(to)).toEqual(['+254711000311']);
  });

  it('a failure reported after the message was read is a late receipt: the phone stays reachable, the attempt read', async () => {
    await start();
    twilio.rules = [{ to: '^\\+254711000313$', statuses: [] }];
    const id = await phone('+254711000313');
    const m = await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    const sid = ((await attempts(m.messageId))[0] as unknown as { providerMessageId: string }).providerMessageId;
    const base = { MessageSid: sid, SmsSid: sid, AccountSid: SID, To: '+254711000313', From: SMS_FROM };
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, { ...base, MessageStatus: 'read' })).status).toBe(204);
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, { ...base, MessageStatus: 'undelivered', ErrorCode: '30005' })).status).toBe(
      204,
    );
    await settle();
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.unreachable ?? []).toEqual([]);
    expect((await attempts(m.messageId))[0]).toMatchObject({ status: 'read', error: null });
  });

  it('WhatsApp not reachable on a number (30005): the contact is no longer WhatsApp-capable; the number stays good for SMS', async () => {
    await start();
    twilio.rules = [{ to: '^whatsapp:\\+254711000314$', statuses: [] }];
    const id = await phone('+254711000314', { capabilities: { whatsapp: true } });
    const m = await send(id, { type: 'service', template: 'order_update' });
    await settle();
    const [wa] = await attempts(m.messageId);
    expect(wa?.channel).toBe('whatsapp');
    const sid = (wa as unknown as { providerMessageId: string }).providerMessageId;
    const fields = {
      MessageSid: sid,
      AccountSid: SID,
      To: 'whatsapp:+254711000314',
      From: `whatsapp:${WA_FROM}`,
      MessageStatus: 'undelivered',
      ErrorCode: '30005',
    };
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, fields)).status).toBe(204);
    await settle();
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.unreachable ?? []).toEqual([]);
    expect(c.capabilities.whatsapp).toBe(false);
    // the plan's next step went by SMS, and the next service message goes by SMS at once
    expect((await attempts(m.messageId)).map((a) => a.channel)).toEqual(['whatsapp', 'sms']);
    const next = await send(id, { type: 'service', template: 'order_update' });
    expect(next.decision.plan[0]?.channel).toBe('sms');
  });

  it('the same status callback twice (Twilio signs no time) is applied once: one receipt, counted once', async () => {
    await start();
    twilio.rules = [{ to: '^\\+254711000312$', statuses: [] }];
    const id = await phone('+254711000312');
    const m = await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    const [sms] = await attempts(m.messageId);
    const sid = (sms as unknown as { providerMessageId: string }).providerMessageId;
    const fields = { MessageSid: sid, SmsSid: sid, AccountSid: SID, To: '+254711000312', From: SMS_FROM, MessageStatus: 'delivered' };
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, fields)).status).toBe(204);
    await h.advance(1000);
    expect((await twilio.post(`${h.url}/hooks/twilio/status`, fields)).status).toBe(204);
    await settle();
    const msg = (await h.api('agent').get(`/api/v1/messages/${m.messageId}`).expect(200)).body;
    expect(msg.attempts[0].receipts.map((r: { status: string }) => r.status)).toEqual(['delivered']);
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.engagement?.sms?.delivered).toBe(1);
  });

  it('forged Twilio callbacks are refused with 401 problem+json', async () => {
    await start();
    const fields = { MessageSid: `SM${'a'.repeat(32)}`, MessageStatus: 'delivered', AccountSid: SID };
    const forged = await twilio.post(`${h.url}/hooks/twilio/status`, fields, 'not-the-auth-token-000000');
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
    const unsigned = await request(h.url).post('/hooks/twilio/inbound').type('form').send({ From: '+254711000307', Body: 'STOP' });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers['content-type']).toMatch(/application\/problem\+json/);
    // a body that is not a form: refused before anything else, with the reason
    const json = await request(h.url).post('/hooks/twilio/status').send({ MessageSid: 'x' });
    expect(json.status).toBe(400);
    expect(json.body.code).toBe('FORM_EXPECTED');
  });
});

describe('fail-over', () => {
  it('Twilio down → the SMS goes through Telerivet, the attempt says why, and Telerivet’s receipt lands on it', async () => {
    await start();
    twilio.down = true;
    const id = await phone('+254711000308');
    const m = await send(id, { type: 'transactional', template: 'dispatch_assigned' });
    await settle();
    expect(telerivet.sent.map((s) => [s.to_number, s.message_type])).toEqual([['+254711000308', 'sms']]);
    const [a] = await attempts(m.messageId);
    expect(a).toMatchObject({ channel: 'sms', provider: 'telerivet', status: 'delivered' });
    expect(a?.route).toBe('twilio: twilio answered 503 (20503); sent by telerivet');
    // Twilio rests a while: the next SMS goes straight to Telerivet, saying so
    const n = await send(id, { type: 'transactional', template: 'dispatch_en_route' });
    await settle();
    expect((await attempts(n.messageId))[0]?.route).toMatch(/^twilio: resting after failures until/);
    expect(twilio.messages()).toHaveLength(1);
    expect(telerivet.sent).toHaveLength(2);
  });

  it('an incoming Telerivet message (its webhook secret) goes into the same inbound path: STOP', async () => {
    await start();
    const id = await phone('+254711000309');
    const form = { event: 'incoming_message', id: 'SMin0001', from_number: '+254711000309', content: 'STOP', message_type: 'sms' };
    expect((await telerivet.post(`${h.url}/hooks/telerivet/incoming`, { ...form, secret: 'telerivet-webhook-secret-0123' })).status).toBe(
      200,
    );
    // the status secret is not the webhook's
    expect((await telerivet.post(`${h.url}/hooks/telerivet/incoming`, { ...form, secret: STATUS_SECRET })).status).toBe(401);
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}`)).toEqual(['sms/marketing/revoked', 'sms/service/revoked']);
    // a time_created past year 9999, or ahead of now: taken as now (it was a 500, and a START dated ahead outranked later STOPs)
    for (const [n, time_created] of [
      [2, '99999999999999'],
      [3, String(Math.floor(Date.now() / 1000) + 86_400 * 365)],
    ] as const) {
      const later = { ...form, id: `SMin000${n}`, content: 'START', time_created };
      expect(
        (await telerivet.post(`${h.url}/hooks/telerivet/incoming`, { ...later, secret: 'telerivet-webhook-secret-0123' })).status,
      ).toBe(200);
    }
    const after = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    for (const line of after) expect(Date.parse(line.at as string)).toBeLessThanOrEqual(h.clock.now().getTime());
  });

  it('an incoming chat is on the channel of its route (a WhatsApp STOP revokes WhatsApp, not SMS); a chat on an unknown route is not taken as SMS', async () => {
    await start();
    const id = await phone('+254711000315', { capabilities: { whatsapp: true } });
    const secret = 'telerivet-webhook-secret-0123';
    const chat = {
      event: 'incoming_message',
      id: 'SMchat001',
      from_number: '+254711000315',
      content: 'STOP',
      message_type: 'chat',
      secret,
    };
    expect((await telerivet.post(`${h.url}/hooks/telerivet/incoming`, { ...chat, route_id: 'PNwhatsapp01' })).status).toBe(200);
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}`)).toEqual(['whatsapp/marketing/revoked', 'whatsapp/service/revoked']);
    const unknown = await telerivet.post(`${h.url}/hooks/telerivet/incoming`, { ...chat, id: 'SMchat002', route_id: 'PNother' });
    expect(unknown.status).toBe(200);
    expect(JSON.parse(unknown.body).ignored).toMatch(/TELERIVET_CHAT_ROUTES/);
    expect((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger).toHaveLength(2);
  });

  it('/openapi.json describes the providers’ hooks with how each is authenticated', async () => {
    await start();
    const doc = (await request(h.url).get('/openapi.json').expect(200)).body;
    expect(doc.paths['/hooks/twilio/status'].post.security).toEqual([{ twilioSignature: [] }]);
    expect(doc.paths['/hooks/telerivet/incoming'].post.security).toEqual([{ telerivetSecret: [] }]);
    expect(doc.paths['/email/unsubscribe/{token}'].post.security).toEqual([{ unsubscribeToken: [] }]);
    expect(doc.paths['/hooks/email/reports'].post.security).toEqual([{ providerSignature: [] }]);
    // a hook that reads its own body documents what it refuses, as the JSON routes do
    for (const path of ['/hooks/twilio/status', '/hooks/telerivet/incoming', '/hooks/email/reports', '/hooks/providers/{name}/receipts']) {
      const responses = doc.paths[path]?.post.responses;
      expect(Object.keys(responses?.['400']?.content ?? {}), path).toEqual(['application/problem+json']);
      expect(responses['413'].description, path).toMatch(/^BODY_TOO_LARGE/);
    }
    // and answers so: a body over the hook's limit is refused before its signature is looked at
    const huge = await request(h.url)
      .post('/hooks/twilio/status')
      .type('form')
      .send(`MessageSid=SM1&Body=${'x'.repeat(70 * 1024)}`);
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toMatch(/problem\+json/);
    expect(huge.body.code).toBe('BODY_TOO_LARGE');
  });

  it('a forged Telerivet status callback is refused', async () => {
    await start();
    const r = await telerivet.post(`${h.url}/hooks/telerivet/status`, {
      event: 'send_status',
      id: 'SMabc',
      status: 'delivered',
      secret: 'guess',
    });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('SECRET_INVALID');
  });
});

describe('email over SMTP', () => {
  async function promo() {
    const id = await contact({
      identities: [
        { kind: 'phone', value: '+254711000310' },
        { kind: 'email', value: 'ana@example.com' },
      ],
    });
    await h
      .api('integration')
      .post(`/api/v1/contacts/${id}/consent`)
      .send({ channel: 'email', purpose: 'marketing', status: 'granted', source: 'crm' })
      .expect(201);
    const m = await send(id, { type: 'promotional', template: 'cart_reminder' });
    expect(m.decision.plan[0]?.channel).toBe('email');
    await settle();
    return { id, m };
  }

  it('marketing mail carries one-click unsubscribe; the link revokes marketing consent on email', async () => {
    await start();
    const { id } = await promo();
    const mail = smtp.received[0];
    expect(mail?.to).toEqual(['ana@example.com']);
    const [list] = mail?.header('List-Unsubscribe') ?? [];
    expect(mail?.header('List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    const url = /^<(http[^>]+)>$/.exec(list ?? '')?.[1] as string;
    expect(url.startsWith(`${h.url}/email/unsubscribe/`)).toBe(true);
    // a link scanner's GET only shows the page (which no other site may frame, and which loads nothing else)
    const shown = await request(url).get('').expect(200);
    expect(shown.headers['x-frame-options']).toBe('DENY');
    expect(shown.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger).toHaveLength(1);
    // the mailbox's one-click POST (RFC 8058)
    await request(url).post('').type('form').send('List-Unsubscribe=One-Click').expect(200);
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger.at(-1)).toMatchObject({ channel: 'email', purpose: 'marketing', status: 'revoked', source: 'unsubscribe' });
    // clicked again (or posted again by a scanner): the same answer, nothing more written
    await request(url).post('').type('form').send('List-Unsubscribe=One-Click').expect(200);
    await request(url).post('').expect(200);
    expect((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger).toHaveLength(ledger.length);
    // opted in again later, the same email's link unsubscribes again: that is what the person asks for now
    await h
      .api('agent')
      .post(`/api/v1/contacts/${id}/consent`)
      .send({ channel: 'email', purpose: 'marketing', status: 'granted' })
      .expect(201);
    await h.advance(1000);
    await request(url).post('').type('form').send('List-Unsubscribe=One-Click').expect(200);
    const again = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(again).toHaveLength(ledger.length + 2);
    expect(again.at(-1)).toMatchObject({ channel: 'email', purpose: 'marketing', status: 'revoked', source: 'unsubscribe' });
    // a forged token
    const forged = await request(h.url)
      .post(`/email/unsubscribe/${Buffer.from('someone').toString('base64url')}.AAAA`)
      .expect(401);
    expect(forged.body.code).toBe('UNSUBSCRIBE_TOKEN_INVALID');
  });

  it('a hard bounce marks the address unreachable and the attempt undelivered; a complaint revokes marketing', async () => {
    await start();
    const { id, m } = await promo();
    const [messageId] = smtp.received[0]?.header('Message-ID') ?? [];
    const report = (body: Record<string, unknown>) => {
      const raw = JSON.stringify(body);
      return request(h.url)
        .post('/hooks/email/reports')
        .set('content-type', 'application/json')
        .set('signalbox-signature', sign(REPORTS_SECRET, raw, Date.now()))
        .send(raw);
    };
    await report({ type: 'bounce', recipient: 'ana@example.com', messageId, diagnostic: '5.1.1 user unknown', at: MORNING }).expect(200);
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.identities.map((i: { kind: string }) => i.kind)).toEqual(['phone']);
    expect(c.unreachable).toMatchObject([{ kind: 'email', value: 'ana@example.com' }]);
    expect((await attempts(m.messageId))[0]).toMatchObject({ channel: 'email', provider: 'smtp', status: 'undelivered' });
    await report({ type: 'complaint', recipient: 'ana@example.com', at: MORNING }).expect(200);
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>;
    expect(ledger.at(-1)).toMatchObject({ channel: 'email', purpose: 'marketing', status: 'revoked', source: 'provider' });
    // unsigned, and badly shaped reports
    const unsigned = await request(h.url).post('/hooks/email/reports').send({ type: 'bounce', recipient: 'ana@example.com', at: MORNING });
    expect(unsigned.status).toBe(401);
    const bad = await report({ type: 'bounce', recipient: 'not-an-email', at: MORNING });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: '/recipient' })]);
  });
});

describe.each([{ name: 'sqlite' }, { name: 'postgres' }])("status callbacks that beat Twilio's answer to the send ($name)", ({ name }) => {
  it('are parked, then applied as the send is recorded: each message ends delivered, nothing left parked, counted once', async () => {
    await start(
      undefined,
      name === 'postgres' ? { postgresSchema: `cbf_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {},
    );
    // the carrier's callbacks reach the app before Twilio answers the API call
    twilio.rules = [{ to: '^\\+2547113', statuses: ['sent', 'delivered'], callbacksFirst: true }];
    const id = await phone('+254711300001');
    // the worker's chores (the sweep of parked receipts among them) ran just now: not again for seconds
    await settle();
    // a message a journey sends as its event is applied: claimed in that unit, recorded after the call
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-cbf-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'invoice', id: 'inv-cbf' },
      })
      .expect(202);
    // one round: the unit, the call (the callbacks arrive and are parked), the send recorded
    await h.system.runtime.round();
    expect(twilio.messages().map(to)).toEqual(['+254711300001']);
    const [journeyMessage] = await h.db.selectFrom('messages').select('id').where('journey_id', '=', 'payment-reminder').execute();
    const state = async (messageId: string) => {
      const message = (await h.api('agent').get(`/api/v1/messages/${messageId}`).expect(200)).body;
      return {
        message: message.message.status,
        attempts: message.attempts.map((a: { channel: string; status: string }) => `${a.channel}:${a.status}`),
        receipts: message.attempts[0].receipts.map((r: { status: string }) => r.status),
      };
    };
    // applied as the send was recorded, not left for the sweep
    expect(await state(journeyMessage?.id as string)).toEqual({
      message: 'delivered',
      attempts: ['sms:delivered'],
      receipts: ['delivered'],
    });
    expect(await h.db.selectFrom('pending_receipts').selectAll().execute()).toEqual([]);
    // one asked for through the API goes through its timer and the send gate: the same
    const asked = await send(id, { type: 'service', template: 'order_update' });
    await settle();
    expect(twilio.messages().map(to)).toEqual(['+254711300001', '+254711300001']);
    expect(await state(asked.messageId)).toEqual({ message: 'delivered', attempts: ['sms:delivered'], receipts: ['delivered'] });
    expect(await h.db.selectFrom('pending_receipts').selectAll().execute()).toEqual([]);
    const engagement = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.engagement;
    expect(engagement.sms).toMatchObject({ sent: 2, delivered: 2 });
  });
});
