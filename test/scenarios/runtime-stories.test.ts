/**
 * Issue 4's scenarios through HTTP: the embedded profile (SQLite), the sandbox provider posting
 * signed receipts back over a real socket, time moved by a test clock and due timers run.
 */
import { createLogger, SandboxProvider } from '@signalbox/app';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const MIN = 60_000;
const DAY = 86_400_000;
// 10:00 in Nairobi
const MORNING = '2026-11-23T07:00:00Z';
let h: Harness;
afterEach(async () => h?.close());

async function contact(phone: string, extra: Record<string, unknown> = {}) {
  const res = await h
    .api('integration')
    .post('/api/v1/contacts')
    .send({ identities: [{ kind: 'phone', value: phone }], market: 'KE', timezone: 'Africa/Nairobi', smartphone: true, ...extra })
    .expect(201);
  return res.body.contact.id as string;
}

/** Requests a message for a contact through the API (202); the answer's body. */
async function request(contactId: string, message: Record<string, unknown>) {
  return (
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id: contactId }, message })
      .expect(202)
  ).body;
}

describe('payment reminder journey', () => {
  it('overdue → reminder; paid after the first reminder → nothing more is ever sent; goal recorded', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000001');
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-1-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'invoice', id: 'inv-1' },
        data: { amount: 120 },
      })
      .expect(202);
    await h.settle();
    let sends = await h.store.sandbox.sends();
    expect(sends.map((s) => [s.channel, s.address])).toEqual([['sms', '+254711000001']]);

    // paid the next day
    h.clock.advance(DAY);
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-1-paid',
        type: 'invoice.paid',
        occurredAt: h.clock.now().toISOString(),
        contact: { id },
        object: { type: 'invoice', id: 'inv-1' },
      })
      .expect(202);
    await h.settle();
    // the rest of the journey's time passes: nothing more
    await h.advance(3 * DAY);
    await h.advance(5 * DAY);
    sends = await h.store.sandbox.sends();
    expect(sends).toHaveLength(1);
    expect(await h.store.timers.pending()).toEqual([]);
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.journeys).toEqual([{ id: expect.any(String), journeyId: 'payment-reminder', status: 'exited' }]);
    const goal = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'journey.complete').execute();
    expect(JSON.parse(goal[0]?.detail as string)).toEqual({ journeyId: 'payment-reminder', outcome: 'goal', goalReached: true });
  });

  it('two overdue invoices: paying one cancels its reminders only; the other invoice is still chased', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000077');
    for (const inv of ['inv-A', 'inv-B'])
      await h
        .api('integration')
        .post('/api/v1/events')
        .send({ id: `${inv}-overdue`, type: 'invoice.overdue', occurredAt: MORNING, contact: { id }, object: { type: 'invoice', id: inv } })
        .expect(202);
    await h.settle();
    h.clock.advance(DAY);
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-B-paid',
        type: 'invoice.paid',
        occurredAt: h.clock.now().toISOString(),
        contact: { id },
        object: { type: 'invoice', id: 'inv-B' },
      })
      .expect(202);
    await h.settle();
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.journeys.map((j: { status: string }) => j.status).sort()).toEqual(['active', 'exited']);
    await h.advance(3 * DAY);
    const messages = await h.db.selectFrom('messages').select(['template', 'request']).where('contact_id', '=', id).execute();
    expect(messages.map((m) => `${m.template} ${JSON.parse(m.request).object.id}`).sort()).toEqual([
      'payment_reminder_firm inv-A',
      'payment_reminder_friendly inv-A',
      'payment_reminder_friendly inv-B',
    ]);
  });

  it('the payment delivered before the overdue notice it followed: no reminder journey; another invoice still gets one', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000078');
    const event = (n: string, type: string, at: number, invoice: string) =>
      h
        .api('integration')
        .post('/api/v1/events')
        .send({ id: n, type, occurredAt: new Date(at).toISOString(), contact: { id }, object: { type: 'invoice', id: invoice } })
        .expect(202);
    const t = Date.parse(MORNING);
    await event('late-paid', 'invoice.paid', t - MIN, 'inv-L');
    await h.settle();
    await event('late-overdue', 'invoice.overdue', t - 2 * MIN, 'inv-L');
    await event('other-overdue', 'invoice.overdue', t - 2 * MIN, 'inv-M');
    await h.settle();
    const journeys = await h.db.selectFrom('journey_instances').select(['key']).where('contact_id', '=', id).execute();
    expect(journeys.map((j) => j.key)).toEqual(['object:invoice:inv-M']);
  });

  it('a journey that restarts on its own trigger (its trigger is one of its exits) still starts, and the next trigger restarts it', async () => {
    h = await startHarness({ at: MORNING });
    const rules = structuredClone((await h.api('admin').get('/api/v1/rules').expect(200)).body.ruleset);
    const cart = rules.journeys.find((j: { id: string }) => j.id === 'cart-abandonment');
    cart.exitOn = ['order.placed', 'cart.abandoned'];
    rules.version = 'cart-restarts';
    await h.api('admin').put('/api/v1/rules').send(rules).expect(200);
    const id = await contact('+254711000079');
    const abandoned = (n: number) =>
      h
        .api('integration')
        .post('/api/v1/events')
        .send({
          id: `cart-${n}`,
          type: 'cart.abandoned',
          occurredAt: h.clock.now().toISOString(),
          contact: { id },
          data: { cartValue: 40 },
        })
        .expect(202);
    await abandoned(1);
    await h.settle();
    h.clock.advance(MIN);
    await abandoned(2);
    await h.settle();
    const instances = await h.db
      .selectFrom('journey_instances')
      .select(['status'])
      .where('contact_id', '=', id)
      .orderBy('created_at')
      .execute();
    expect(instances.map((i) => i.status)).toEqual(['exited', 'active']);
  });

  it('unpaid: friendly, firm three days later, then the urgent call with an SMS follow-up', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000002');
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-2-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'invoice', id: 'inv-2' },
      })
      .expect(202);
    await h.settle();
    await h.advance(3 * DAY);
    await h.advance(4 * DAY);
    await h.advance(10 * MIN);
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.channel)).toEqual(['sms', 'sms', 'voice', 'sms']);
    // each message costs what its attempts cost: the SMS after the answered call too
    const messages = await h.db.selectFrom('messages').select(['id', 'cost', 'status']).where('contact_id', '=', id).execute();
    for (const m of messages) {
      const attempts = await h.db.selectFrom('attempts').select(['cost', 'channel']).where('message_id', '=', m.id).execute();
      expect(Number(m.cost), `${m.status}: ${attempts.map((a) => a.channel).join(', ')}`).toBeCloseTo(
        attempts.reduce((n, a) => n + Number(a.cost ?? 0), 0),
        6,
      );
    }
    expect(messages.length).toBe(3);
  });
});

describe('escalation (story 10): an account issue with no reply, or flagged urgent, becomes a call with an SMS follow-up', () => {
  const opened = (id: string, issue: string) =>
    h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: `${issue}-opened`,
        type: 'account.issue_opened',
        occurredAt: h.clock.now().toISOString(),
        contact: { id },
        object: { type: 'account_issue', id: issue },
        data: { summary: 'a blocked card' },
      })
      .expect(202);
  /** An event about the contact (and an object) at the test clock's time. */
  const happened = (contactId: string, id: string, type: string, object?: { type: string; id: string }) =>
    h
      .api('integration')
      .post('/api/v1/events')
      .send({ id, type, occurredAt: h.clock.now().toISOString(), contact: { id: contactId }, ...(object ? { object } : {}) })
      .expect(202);
  const journeyOf = async (id: string) =>
    (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.journeys as Array<{ journeyId: string; status: string }>;
  const outcome = async () =>
    JSON.parse(
      (await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'journey.complete').executeTakeFirstOrThrow())
        .detail as string,
    ).outcome;

  it('no reply to two messages: a message, a firmer one a day later, then the call and its SMS follow-up', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000101');
    await opened(id, 'AI-1');
    await h.settle();
    let sends = await h.store.sandbox.sends();
    expect(sends).toHaveLength(1);
    expect(JSON.stringify(sends[0]?.rendered)).toContain('an issue on your account: a blocked card');
    await h.advance(DAY);
    expect(await h.store.sandbox.sends()).toHaveLength(2);
    await h.advance(DAY);
    await h.advance(10 * MIN);
    sends = await h.store.sandbox.sends();
    expect(sends.slice(2).map((s) => s.channel)).toEqual(['voice', 'sms']);
    const templates = await h.db
      .selectFrom('messages')
      .select(['template', 'type'])
      .where('contact_id', '=', id)
      .orderBy('created_at')
      .execute();
    expect(templates).toEqual([
      { template: 'account_issue_update', type: 'service' },
      { template: 'account_issue_chase', type: 'service' },
      { template: 'account_issue_call', type: 'urgent' },
    ]);
    expect(await outcome()).toBe('escalated');
  });

  it('an urgent flag after the first message calls at once, without waiting for the second', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000102');
    await opened(id, 'AI-2');
    await h.settle();
    h.clock.advance(2 * 3_600_000);
    await happened(id, 'AI-2-urgent', 'account.issue_urgent');
    await h.settle();
    await h.advance(10 * MIN);
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.channel).slice(1)).toEqual(['voice', 'sms']);
    await h.advance(3 * DAY);
    expect(await h.store.sandbox.sends()).toHaveLength(3);
    expect(await outcome()).toBe('escalated');
  });

  it('an urgent flag at night calls at once; the first message, held for the morning, is not sent after the call', async () => {
    // 23:00 in Nairobi: the first message waits for the morning
    h = await startHarness({ at: '2026-11-23T20:00:00Z' });
    const id = await contact('+254711000106');
    await opened(id, 'AI-6');
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(0);
    const [held] = await h.db.selectFrom('messages').select(['id', 'status']).where('contact_id', '=', id).execute();
    expect(held?.status).toBe('queued');
    h.clock.advance(30 * MIN);
    await happened(id, 'AI-6-urgent', 'account.issue_urgent');
    await h.settle();
    await h.advance(10 * MIN);
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['voice', 'sms']);
    // the morning comes: nothing more goes
    await h.advance(12 * 60 * MIN);
    expect(await h.store.sandbox.sends()).toHaveLength(2);
    const first = (await h.api('agent').get(`/api/v1/messages/${held?.id}`).expect(200)).body;
    expect(first.message.status).toBe('cancelled');
    expect(await outcome()).toBe('escalated');
  });

  it('a reply hands the issue to the team: no chase, no call', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000103');
    await opened(id, 'AI-3');
    await h.settle();
    h.clock.advance(3_600_000);
    await h.inbound({ id: 'in-ai-3', channel: 'sms', from: '+254711000103', text: 'My card was blocked at the shop' }).expect(200);
    await h.settle();
    await h.advance(3 * DAY);
    expect(await h.store.sandbox.sends()).toHaveLength(1);
    expect(await journeyOf(id)).toEqual([{ id: expect.any(String), journeyId: 'account-escalation', status: 'completed' }]);
    expect(await outcome()).toBe('replied');
  });

  it('opened on a ticket: closing that ticket stops it; closing another ticket of the contact does not', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000105');
    for (const ticket of ['T-5', 'T-6'])
      await h
        .api('integration')
        .post('/api/v1/events')
        .send({
          id: `${ticket}-opened`,
          type: 'account.issue_opened',
          occurredAt: MORNING,
          contact: { id },
          object: { type: 'ticket', id: ticket },
        })
        .expect(202);
    await h.settle();
    h.clock.advance(DAY / 2);
    await happened(id, 'T-5-closed', 'ticket.closed', { type: 'ticket', id: 'T-5' });
    await h.settle();
    await h.advance(DAY);
    const messages = await h.db.selectFrom('messages').select(['template', 'request']).where('contact_id', '=', id).execute();
    expect(messages.map((m) => `${m.template} ${JSON.parse(m.request).object.id}`).sort()).toEqual([
      'account_issue_chase T-6',
      'account_issue_update T-5',
      'account_issue_update T-6',
    ]);
  });

  it('resolved before anyone replied: nothing more is sent, and the goal is recorded', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000104');
    await opened(id, 'AI-4');
    await h.settle();
    h.clock.advance(DAY / 2);
    await happened(id, 'AI-4-resolved', 'account.issue_resolved', { type: 'account_issue', id: 'AI-4' });
    await h.settle();
    await h.advance(3 * DAY);
    expect(await h.store.sandbox.sends()).toHaveLength(1);
    expect(await outcome()).toBe('goal');
  });
});

describe("an event's word on its contact", () => {
  it('a new contact named by an event takes its time zone, market, vulnerable flag and attributes: the reminder waits for review', async () => {
    h = await startHarness({ at: MORNING });
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-v-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: {
          identities: [{ kind: 'phone', value: '+254711000888' }],
          timezone: 'Africa/Nairobi',
          market: 'KE',
          vulnerable: true,
          attributes: { firstName: 'Wanjiru' },
        },
        object: { type: 'invoice', id: 'INV-V1' },
      })
      .expect(202);
    await h.settle();
    const id = (await h.store.contacts.findByIdentity('phone', '+254711000888'))?.id as string;
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.contact).toMatchObject({
      timezone: 'Africa/Nairobi',
      market: 'KE',
      vulnerable: true,
      attributes: { firstName: 'Wanjiru' },
    });
    // a collections message to a vulnerable contact is not sent automatically
    expect(await h.store.sandbox.sends()).toEqual([]);
    const held = await h.db.selectFrom('messages').select(['status']).where('contact_id', '=', id).execute();
    expect(held.map((m) => m.status)).toEqual(['review']);
    // a later event updates what it says, and keeps the rest
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'c-upd-1',
        type: 'contact.updated',
        occurredAt: MORNING,
        contact: { identities: [{ kind: 'phone', value: '+254711000888' }], vulnerable: false, attributes: { plan: 'gold' } },
      })
      .expect(202);
    await h.settle();
    const after = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(after.body.contact).toMatchObject({ market: 'KE', vulnerable: false, attributes: { firstName: 'Wanjiru', plan: 'gold' } });
  });

  it('an event arriving after a newer word on its contact leaves the fields as the newer word left them (its identities are taken)', async () => {
    h = await startHarness({ at: MORNING });
    const HOUR = 3_600_000;
    const at = (hours: number) => new Date(Date.parse(MORNING) - hours * HOUR).toISOString();
    const event = (id: string, occurredAt: string, contact: Record<string, unknown>) =>
      h
        .api('integration')
        .post('/api/v1/events')
        .send({ id, type: 'contact.updated', occurredAt, contact: { identities: [{ kind: 'phone', value: '+254711000889' }], ...contact } })
        .expect(202);
    // the CRM moved the contact to Lagos an hour ago, then its webhook from two hours ago (Nairobi) came late
    await event('tz-new', at(1), { timezone: 'Africa/Lagos', attributes: { plan: 'gold' } });
    await h.settle();
    await event('tz-old', at(2), {
      identities: [
        { kind: 'phone', value: '+254711000889' },
        { kind: 'email', value: 'late@example.com' },
      ],
      timezone: 'Africa/Nairobi',
      attributes: { plan: 'silver' },
    });
    await h.settle();
    const id = (await h.store.contacts.findByIdentity('phone', '+254711000889'))?.id as string;
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.contact).toMatchObject({ timezone: 'Africa/Lagos', attributes: { plan: 'gold' } });
    expect((await h.store.contacts.findByIdentity('email', 'late@example.com'))?.id).toBe(id);
    // an event that names the contact by its identities alone says nothing of its fields: one from
    // half an hour ago, newer than the Lagos word, is still taken after it
    await event('ids-only', at(0), {});
    await h.settle();
    await event('tz-mid', at(0.5), { timezone: 'Africa/Kampala' });
    await h.settle();
    expect((await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.timezone).toBe('Africa/Kampala');
    // an event claiming to come from the future counts as now, so the API's word a moment later
    // still wins over it
    await event('tz-future', new Date(Date.parse(MORNING) + 24 * HOUR).toISOString(), { timezone: 'Africa/Dar_es_Salaam' });
    await h.settle();
    expect((await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.timezone).toBe('Africa/Dar_es_Salaam');
    h.clock.advance(1000);
    await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254711000889' }], timezone: 'Africa/Nairobi' })
      .expect((r) => expect([200, 201]).toContain(r.status));
    expect((await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.timezone).toBe('Africa/Nairobi');
  });
});

describe('a contact without a market', () => {
  it("takes its phone's (+254: KE), so KE's prices apply; a market given wins", async () => {
    h = await startHarness({ at: MORNING });
    const post = (body: Record<string, unknown>) => h.api('admin').post('/api/v1/contacts').send(body).expect(201);
    const ke = await post({ identities: [{ kind: 'phone', value: '+254711000555' }], timezone: 'Africa/Nairobi' });
    expect(ke.body.contact.market).toBe('KE');
    const given = await post({ identities: [{ kind: 'phone', value: '+254711000556' }], market: 'UG' });
    expect(given.body.contact.market).toBe('UG');
    const none = await post({ identities: [{ kind: 'email', value: 'no-phone@example.com' }] });
    expect(none.body.contact.market).toBeUndefined();
    const sent = await request(ke.body.contact.id, { type: 'transactional', template: 'order_shipped' });
    // an integration key writes contacts but does not read them: its answer names the contact only
    const integration = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254711000555' }], attributes: { plan: 'gold' } })
      .expect(200);
    expect(integration.body).toEqual({ contact: { id: ke.body.contact.id }, created: false, merged: [], conflicts: [] });
    const sms = (sent.decision.plan as Array<{ channel: string; estimatedCost: number }>).find((p) => p.channel === 'sms');
    expect(sms?.estimatedCost).toBe(0.008);
  });
});

describe('the decision preview of a stored contact', () => {
  it('{id} alone decides with the contact as stored (its consent ledger), as /messages would now', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000777', {
      identities: [
        { kind: 'phone', value: '+254711000777' },
        { kind: 'email', value: 'stored@example.com' },
      ],
    });
    await h
      .api('agent')
      .post(`/api/v1/contacts/${id}/consent`)
      .send({ channel: 'email', purpose: 'marketing', status: 'granted' })
      .expect(201);
    // consent on a channel the ruleset does not have is a typo, refused; `*` is every channel
    const typo = await h
      .api('agent')
      .post(`/api/v1/contacts/${id}/consent`)
      .send({ channel: 'carrier-pigeon', purpose: 'marketing', status: 'granted' })
      .expect(400);
    expect(typo.body.errors[0]).toMatchObject({ path: '/channel', message: expect.stringContaining('sms') });
    await h.api('agent').post(`/api/v1/contacts/${id}/consent`).send({ channel: '*', purpose: 'service', status: 'granted' }).expect(201);
    const preview = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ contact: { id }, message: { type: 'promotional' } })
      .expect(200);
    expect(preview.body.decision.plan.map((p: { channel: string }) => p.channel)).toContain('email');
    expect(JSON.stringify(preview.body.decision.reasons)).not.toContain('no marketing consent on record for email');
    // nothing was stored or sent
    expect(await h.db.selectFrom('messages').select('id').execute()).toEqual([]);
    const unknown = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ contact: { id: 'no-such-contact' }, message: { type: 'promotional' } })
      .expect(404);
    expect(unknown.body).toMatchObject({ code: 'CONTACT_NOT_FOUND', errors: [{ path: '/contact/id' }] });
    // an integration key previews posted contacts only: a stored one's consent is for who may read it
    const integration = await h
      .api('integration')
      .post('/api/v1/decisions/preview')
      .send({ contact: { id }, message: { type: 'promotional' } })
      .expect(403);
    expect(integration.body.errors[0].path).toBe('/contact/id');
    const mixed = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ contact: { id }, consent: [], message: { type: 'promotional' } })
      .expect(400);
    expect(mixed.body.errors[0].path).toBe('/consent');
  });
});

describe('WhatsApp that never arrives', () => {
  const service = { type: 'service', template: 'order_update', rich: true };
  it('not delivered within 15 minutes → SMS with adapted content, exactly once, even when the WhatsApp receipt turns up late', async () => {
    h = await startHarness({ at: MORNING });
    // numbers ending in 9: the sandbox's WhatsApp never answers
    const id = await contact('+254711000009', { capabilities: { whatsapp: true } });
    const sent = await request(id, service);
    expect(sent.decision.plan.map((s: { channel: string }) => s.channel)).toEqual(['whatsapp', 'sms']);
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    await h.advance(14 * MIN);
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    await h.advance(1 * MIN);
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => [s.channel, s.content])).toEqual([
      ['whatsapp', 'rich'],
      ['sms', 'text+link'],
    ]);
    // the WhatsApp receipt turns up late: recorded, nothing more sent
    const wa = (await h.api('agent').get(`/api/v1/messages/${sent.messageId}`).expect(200)).body.attempts[0];
    await h.receipt(wa.providerMessageId, 'delivered').expect(200);
    await h.advance(60 * MIN);
    expect(await h.store.sandbox.sends()).toHaveLength(2);
  });

  it('undeliverable on WhatsApp → SMS at once', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000010', { capabilities: { whatsapp: true } });
    await request(id, service);
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp', 'sms']);
  });
});

describe('a keyword is confirmed where it came from', () => {
  it('the STOP confirmation is planned on SMS alone: no fallback to a call or another app', async () => {
    h = await startHarness({ at: MORNING });
    await contact('+254711000029', { capabilities: { whatsapp: true } });
    await h.inbound({ id: 'in-pin-1', channel: 'sms', from: '+254711000029', text: 'STOP' }).expect(200);
    await h.settle();
    const row = await h.db
      .selectFrom('messages')
      .select(['decision'])
      .where('workflow', '=', 'consent-keywords')
      .where('idempotency_key', '=', 'keyword-reply:sms:in-pin-1')
      .executeTakeFirstOrThrow();
    const decision = JSON.parse(row.decision as string) as { outcome: string; plan: Array<{ channel: string; mode: string }> };
    expect(decision.outcome).toBe('send');
    expect(decision.plan.map((s) => `${s.channel}:${s.mode}`)).toEqual(['sms:primary']);
  });
});

describe('START after more than one STOP', () => {
  for (const [second, label] of [
    ['STOP', 'STOP twice'],
    ['STOP ALL', 'STOP, then STOP ALL'],
  ] as const)
    it(`${label}, then START: service on SMS is back, and START is confirmed`, async () => {
      h = await startHarness({ at: MORNING });
      const id = await contact('+254711000030');
      await h.inbound({ id: 'in-s-1', channel: 'sms', from: '+254711000030', text: 'STOP' }).expect(200);
      h.clock.advance(MIN);
      await h.inbound({ id: 'in-s-2', channel: 'sms', from: '+254711000030', text: second }).expect(200);
      h.clock.advance(MIN);
      const start = await h.inbound({ id: 'in-s-3', channel: 'sms', from: '+254711000030', text: 'START' }).expect(200);
      expect(start.body.keyword).toBe('start');
      await h.settle();
      const service = await request(id, { type: 'service' });
      expect(service.decision.outcome).toBe('send');
      const confirmations = await h.db.selectFrom('messages').select(['template']).where('workflow', '=', 'consent-keywords').execute();
      expect(confirmations.map((m) => m.template)).toContain('keyword_start_confirmation');
    });
});

describe('START behind a revocation the CRM made', () => {
  it('restores what the STOP took, never the marketing consent the CRM revoked before it', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000035');
    const consent = (status: string, source: string) =>
      h
        .api('integration')
        .post(`/api/v1/contacts/${id}/consent`)
        .send({ channel: 'sms', purpose: 'marketing', status, source, at: h.clock.now().toISOString() })
        .expect(201);
    await consent('granted', 'api');
    h.clock.advance(MIN);
    await consent('revoked', 'crm');
    h.clock.advance(MIN);
    await h.inbound({ id: 'in-crm-1', channel: 'sms', from: '+254711000035', text: 'STOP' }).expect(200);
    h.clock.advance(MIN);
    await h.inbound({ id: 'in-crm-2', channel: 'sms', from: '+254711000035', text: 'START' }).expect(200);
    await h.settle();
    const ledger = await h.db
      .selectFrom('consent_ledger')
      .select(['purpose', 'status', 'source'])
      .where('contact_id', '=', id)
      .orderBy('recorded_at')
      .execute();
    const granted = ledger.filter((r) => r.source === 'keyword' && r.status === 'granted').map((r) => r.purpose);
    expect(granted).toEqual(['service']);
  });
});

describe('an inbound message that arrives late', () => {
  it("leaves the channel's last inbound time at the newer one: the WhatsApp window it opened stays open", async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000031', { capabilities: { whatsapp: true } });
    await h.inbound({ id: 'in-late-1', channel: 'whatsapp', from: '+254711000031', text: 'my bill doubled' }).expect(200);
    const newer = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.lastInbound.whatsapp;
    // a message from 30 hours ago, delivered only now
    h.clock.advance(-30 * 60 * MIN);
    await h.inbound({ id: 'in-late-0', channel: 'whatsapp', from: '+254711000031', text: 'hello?' }).expect(200);
    h.clock.advance(30 * 60 * MIN);
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.contact.lastInbound.whatsapp).toBe(newer);
  });
});

describe('a posted contact without a market', () => {
  it('is previewed as it would be sent: the market (and so the prices and hours) from its phone', async () => {
    h = await startHarness({ at: MORNING });
    const body = { contact: { identities: [{ kind: 'phone', value: '+254711000888' }] }, message: { type: 'service' } };
    const preview = await h.api('integration').post('/api/v1/decisions/preview').send(body).expect(200);
    const sent = await h.api('integration').post('/api/v1/messages').send(body).expect(202);
    const pick = (d: { sendAt: string | null; estimatedCost: number; plan: Array<{ channel: string }> }) => ({
      sendAt: d.sendAt,
      estimatedCost: d.estimatedCost,
      channels: d.plan.map((p) => p.channel),
    });
    expect(pick(preview.body.decision ?? preview.body)).toEqual(pick(sent.body.decision));
  });
});

describe('the survey after a call (story 7)', () => {
  const called = (id: string, topic: string, n: number) =>
    h
      .api('integration')
      .post('/api/v1/events')
      .send({ id: `call-${n}`, type: 'call.completed', occurredAt: h.clock.now().toISOString(), contact: { id }, data: { topic } })
      .expect(202);
  it('asks about the bill the call was about, though the customer texted "thanks" meanwhile', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000032');
    await called(id, 'billing', 1);
    await h.settle();
    h.clock.advance(10 * MIN);
    await h.inbound({ id: 'in-thanks', channel: 'sms', from: '+254711000032', text: 'thanks, sorted' }).expect(200);
    await h.settle();
    await h.advance(60 * MIN);
    const survey = await h.db
      .selectFrom('messages')
      .select(['status', 'request'])
      .where('template', '=', 'contact_survey')
      .executeTakeFirstOrThrow();
    expect(survey.status).not.toBe('suppressed');
    expect(JSON.parse(survey.request).topic).toBe('billing');
  });

  it('asks nothing about a call whose topic a later call replaced', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000033');
    await called(id, 'installation', 1);
    await h.settle();
    h.clock.advance(10 * MIN);
    await called(id, 'billing', 2);
    await h.settle();
    await h.advance(60 * MIN);
    const surveys = await h.db.selectFrom('messages').select(['status', 'request']).where('template', '=', 'contact_survey').execute();
    const byTopic = Object.fromEntries(surveys.map((m) => [JSON.parse(m.request).topic, m.status]));
    expect(byTopic.installation).toBe('suppressed');
  });
});

describe('a ticket opened long ago and never closed (story 2)', () => {
  it('still holds promotions 120 days on; once closed, they go', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000034');
    const event = (n: string, type: string, at: number) =>
      h
        .api('integration')
        .post('/api/v1/events')
        .send({ id: n, type, occurredAt: new Date(at).toISOString(), contact: { id }, object: { type: 'ticket', id: 'T-OLD' } })
        .expect(202);
    await event('t-old-opened', 'ticket.opened', Date.parse(MORNING) - 120 * DAY);
    await h.settle();
    const held = await request(id, { type: 'promotional', team: 'marketing' });
    expect(held.decision.outcome).toBe('suppress');
    expect(JSON.stringify(held.decision.reasons)).toContain('open-ticket-no-promo');
    await event('t-old-closed', 'ticket.closed', Date.parse(MORNING) - DAY);
    await h.settle();
    const after = await request(id, { type: 'promotional', team: 'marketing' });
    expect(JSON.stringify(after.decision.reasons)).not.toContain('open-ticket-no-promo');
  });
});

describe('a dry run reads what live decisions read (story 2 and story 15)', () => {
  async function finished(id: string) {
    for (let i = 0; i < 600; i++) {
      const r = await h.api('admin').get(`/api/v1/rules/dry-runs/${id}`).expect(200);
      if (r.body.status !== 'running') return r.body;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('dry run did not finish');
  }

  it('a ticket opened 120 days ago and never closed holds the promotion under the baseline, as it does live', async () => {
    h = await startHarness({ at: MORNING });
    // promotions go by email, with marketing consent
    const id = await contact('+254711000036', {
      identities: [
        { kind: 'phone', value: '+254711000036' },
        { kind: 'email', value: 'dry@example.com' },
      ],
    });
    await h.api('agent').post(`/api/v1/contacts/${id}/consent`).send({ channel: '*', purpose: 'marketing', status: 'granted' }).expect(201);
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 't-dry-opened',
        type: 'ticket.opened',
        occurredAt: new Date(Date.parse(MORNING) - 120 * DAY).toISOString(),
        contact: { id },
        object: { type: 'ticket', id: 'T-DRY' },
      })
      .expect(202);
    await h.settle();
    const live = await request(id, { type: 'promotional', team: 'marketing' });
    expect(live.decision.outcome).toBe('suppress');
    expect(JSON.stringify(live.decision.reasons)).toContain('open-ticket-no-promo');
    const active = (await h.api('agent').get('/api/v1/rules').expect(200)).body.ruleset;
    const document = {
      ...active,
      version: 'no-ticket-guard',
      rules: active.rules.filter((r: { name: string }) => r.name !== 'open-ticket-no-promo'),
    };
    for (const sample of [
      { kind: 'contacts', messageTypes: ['promotional'], team: 'marketing', at: MORNING },
      { kind: 'requests', days: 1 },
    ]) {
      const started = await h.api('admin').post('/api/v1/rules/dry-run').send({ document, sample }).expect(202);
      const done = await finished(started.body.id);
      expect(done.status).toBe('done');
      // the baseline holds it as live did; the candidate without the guard lets it go
      expect(done.result.impact.changed, JSON.stringify(sample)).toBe(1);
      const [transition] = Object.keys(done.result.impact.transitions);
      expect(transition).toMatch(/^suppress→/);
    }
  });
});

describe('a keyword at night', () => {
  it('STOP at 06:03 is confirmed at once, not at 08:00 (the contact has just written)', async () => {
    h = await startHarness({ at: '2026-11-23T03:03:00Z' });
    await contact('+254711000037');
    const stop = await h.inbound({ id: 'in-night-1', channel: 'sms', from: '+254711000037', text: 'STOP' }).expect(200);
    expect(stop.body.keyword).toBe('stop');
    await h.settle();
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.channel)).toEqual(['sms']);
    const [m] = await h.db.selectFrom('messages').select(['decision']).where('template', '=', 'keyword_stop_confirmation').execute();
    expect(m?.decision).toContain('quiet_hours_bypassed');
  });

  it('a STOP on WhatsApp is answered on WhatsApp (writing there showed the contact has it)', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000038');
    const stop = await h.inbound({ id: 'in-wa-stop', channel: 'whatsapp', from: '+254711000038', text: 'STOP' }).expect(200);
    expect(stop.body.keyword).toBe('stop');
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    const c = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(c.capabilities.whatsapp).toBe(true);
    // what the STOP took: WhatsApp's, not SMS's
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<{ channel: string }>;
    expect([...new Set(ledger.map((l) => l.channel))]).toEqual(['whatsapp']);
  });
});

describe('STOP while a fallback is pending', () => {
  it('no further send of that message; the STOP confirmation goes out once', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000019', { capabilities: { whatsapp: true } });
    const sent = await request(id, { type: 'service', template: 'order_update' });
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    const stop = await h.inbound({ id: 'in-1', channel: 'sms', from: '+254711000019', text: 'stop' }).expect(200);
    expect(stop.body.keyword).toBe('stop');
    // the provider redelivers the same inbound message: the confirmation still goes once
    await h.inbound({ id: 'in-1', channel: 'sms', from: '+254711000019', text: 'STOP' }).expect(200);
    await h.advance(20 * MIN);
    const msg = (await h.api('agent').get(`/api/v1/messages/${sent.messageId}`).expect(200)).body;
    expect(msg.attempts.map((a: { channel: string; status: string }) => `${a.channel}:${a.status}`)).toEqual([
      'whatsapp:expired',
      'sms:skipped',
    ]);
    const sends = await h.store.sandbox.sends();
    expect(sends.filter((s) => s.claim.startsWith(sent.messageId))).toHaveLength(1);
    // exactly one confirmation, on SMS (transactional: STOP leaves it allowed)
    expect(sends.filter((s) => !s.claim.startsWith(sent.messageId)).map((s) => s.channel)).toEqual(['sms']);
    const consent = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger;
    // the redelivery applied nothing: one line per purpose
    expect(consent.map((c: { channel: string; purpose: string; status: string }) => `${c.channel}/${c.purpose}/${c.status}`)).toEqual([
      'sms/marketing/revoked',
      'sms/service/revoked',
    ]);
  });
});

describe('the same event delivered 5 times concurrently', () => {
  it('one journey, one message', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000003');
    const event = {
      id: 'inv-3-overdue',
      type: 'invoice.overdue',
      occurredAt: MORNING,
      contact: { id },
      object: { type: 'invoice', id: 'inv-3' },
    };
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.api('integration').post('/api/v1/events').send(event)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.reduce((n, a) => n + a.body.accepted, 0)).toBe(1);
    await Promise.all([h.settle(), h.settle()]);
    expect(await h.store.journeys.active({ key: 'object:invoice:inv-3' })).toHaveLength(1);
    expect(await h.store.sandbox.sends()).toHaveLength(1);
  });
});

describe('a receipt that beats the send', () => {
  it('is parked, then applied once the send records the provider id', async () => {
    // this provider never reports on its own: only the early receipt can move the message on
    h = await startHarness({ at: MORNING, sandboxRules: [{ channel: '*', pattern: '^\\+2547990', receipts: [] }] });
    const id = await contact('+254799000001');
    const sent = await request(id, { type: 'transactional', template: 'order_shipped' });
    const messageId = sent.messageId as string;
    // the sandbox's ids are sbx-<claim>, the claim is <message>:<step>
    const early = await h.receipt(`sbx-${messageId}:0`, 'delivered');
    expect(early.status).toBe(202);
    expect(early.body.result).toBe('parked');
    await h.settle();
    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    expect(view.body.timeline.find((t: { id?: string }) => t.id === messageId)?.status).toBe('delivered');
    expect(await h.db.selectFrom('pending_receipts').selectAll().execute()).toEqual([]);
  });
});

describe('receipts in bulk', () => {
  it("a message's delivered and read in one request count exactly as the same receipts one by one", async () => {
    // silent sandbox: only the receipts posted here arrive
    h = await startHarness({ at: MORNING, sandboxRules: [{ channel: '*', pattern: '^\\+2547990', receipts: [] }] });
    const send = async (phone: string) => {
      const id = await contact(phone);
      const sent = await request(id, { type: 'service', template: 'order_update' });
      await h.settle();
      const msg = (await h.api('agent').get(`/api/v1/messages/${sent.messageId}`).expect(200)).body;
      return { contactId: id, messageId: sent.messageId as string, providerMessageId: msg.attempts[0].providerMessageId as string };
    };
    const a = await send('+254799000001');
    const b = await send('+254799000002');
    const receipts = (pid: string) => [
      { providerMessageId: pid, status: 'read', at: '2026-11-23T07:05:00Z' }, // out of order
      { providerMessageId: pid, status: 'delivered', at: '2026-11-23T07:01:00Z' },
      { providerMessageId: pid, status: 'read', at: '2026-11-23T15:05:00Z' }, // again, later
    ];
    // the receipts come in once they have happened (one timed ahead of now counts as now)
    h.clock.set(new Date('2026-11-23T15:10:00Z'));
    expect((await h.receipts(receipts(a.providerMessageId)).expect(200)).body.results).toEqual(['applied', 'applied', 'applied']);
    for (const r of receipts(b.providerMessageId)) await h.receipts([r]).expect(200);
    const state = async (x: typeof a) => {
      const msg = (await h.api('agent').get(`/api/v1/messages/${x.messageId}`).expect(200)).body;
      const contact = (await h.api('agent').get(`/api/v1/contacts/${x.contactId}`).expect(200)).body.contact;
      const rows = await h.db
        .selectFrom('receipts')
        .select(['status', 'at'])
        .where('attempt_id', '=', msg.attempts[0].id)
        .orderBy('at')
        .execute();
      return {
        message: msg.message.status,
        attempt: msg.attempts[0].status,
        rows,
        engagement: contact.engagement,
        readHours: contact.readHours,
      };
    };
    const got = await state(a);
    expect(got).toEqual(await state(b));
    expect(got).toMatchObject({ message: 'read', attempt: 'read', engagement: { sms: { sent: 1, delivered: 1, read: 2, replied: 0 } } });
    expect(got.rows).toHaveLength(3);
    // read at 10:05 and 18:05 in Nairobi
    expect([got.readHours[10], got.readHours[18]]).toEqual([1, 1]);
    // a read timed in 2999 (a clock ahead, a forged field) is logged as timed and counted as now (18:10)
    await h.receipts([{ providerMessageId: a.providerMessageId, status: 'read', at: '2999-01-01T00:00:00Z' }]).expect(200);
    const later = await state(a);
    expect(later.rows).toHaveLength(4);
    expect([later.readHours[3] ?? 0, later.readHours[18]]).toEqual([0, 2]);
  });

  it("a provider's retried receipts (the same status and time again) are neither logged nor counted twice", async () => {
    h = await startHarness({ at: MORNING, sandboxRules: [{ channel: '*', pattern: '^\\+2547990', receipts: [] }] });
    const id = await contact('+254799000003');
    const sent = await request(id, { type: 'service', template: 'order_update' });
    await h.settle();
    const msg = (await h.api('agent').get(`/api/v1/messages/${sent.messageId}`).expect(200)).body;
    const pid = msg.attempts[0].providerMessageId as string;
    const delivered = { providerMessageId: pid, status: 'delivered', at: '2026-11-23T07:01:00Z' };
    const read = { providerMessageId: pid, status: 'read', at: '2026-11-23T07:05:00Z' };
    const state = async () => ({
      message: (await h.api('agent').get(`/api/v1/messages/${sent.messageId}`).expect(200)).body,
      contact: (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact,
    });
    await h.receipts([delivered, read]).expect(200);
    const once = await state();
    expect(once.contact.engagement).toEqual({ sms: { sent: 1, delivered: 1, read: 1, replied: 0 } });
    // the whole batch again, each one alone, and a batch holding the same receipt twice
    await h.receipts([delivered, read]).expect(200);
    await h.receipt(pid, 'read').expect(200);
    await h.receipts([read, read]).expect(200);
    const after = await state();
    // `h.receipt` stamps the time it is sent: a read at another time is a new read and counts
    expect(after.contact.engagement).toEqual({ sms: { sent: 1, delivered: 1, read: 2, replied: 0 } });
    expect(after.message.attempts[0].receipts.map((r: { status: string }) => r.status).sort()).toEqual(['delivered', 'read', 'read']);
    expect(after.message.message.status).toBe('read');
  });
});

describe.each([{ name: 'sqlite' }, { name: 'postgres' }])('receipts of many messages in one batch ($name)', ({ name }) => {
  it('land exactly as the same receipts one request each: retries, a receipt not known yet, a failure in between', async () => {
    h = await startHarness({
      at: MORNING,
      sandboxRules: [{ channel: '*', pattern: '^\\+2547990', receipts: [] }],
      ...(name === 'postgres' ? { postgresSchema: `rcpt_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
    });
    // per set: two contacts, the first with two messages, the second with two (one of them undelivered)
    const set = async (prefix: string) => {
      const c1 = await contact(`+2547990${prefix}01`);
      const c2 = await contact(`+2547990${prefix}02`);
      const messages: string[] = [];
      for (const c of [c1, c1, c2, c2])
        messages.push((await request(c, { type: 'transactional', template: 'order_shipped' })).messageId as string);
      await h.settle();
      const pids: string[] = [];
      for (const m of messages) {
        const msg = (await h.api('agent').get(`/api/v1/messages/${m}`).expect(200)).body;
        expect(msg.attempts[0]?.providerMessageId, `message ${m} was sent`).toBeTypeOf('string');
        pids.push(msg.attempts[0].providerMessageId as string);
      }
      return { contacts: [c1, c2], messages, pids };
    };
    const x = await set('10');
    const y = await set('20');
    const batch = (pids: string[], unknown: string) => {
      const [m1, m2, m3, m4] = pids as [string, string, string, string];
      return [
        { providerMessageId: m1, status: 'delivered', at: '2026-11-23T07:01:00Z' },
        { providerMessageId: m3, status: 'read', at: '2026-11-23T07:06:00Z' },
        { providerMessageId: unknown, status: 'delivered', at: '2026-11-23T07:01:30Z' },
        { providerMessageId: m2, status: 'delivered', at: '2026-11-23T07:02:00Z' },
        { providerMessageId: m4, status: 'undelivered', at: '2026-11-23T07:02:30Z' },
        { providerMessageId: m1, status: 'read', at: '2026-11-23T07:05:00Z' },
        { providerMessageId: m3, status: 'delivered', at: '2026-11-23T07:03:00Z' },
        { providerMessageId: m1, status: 'read', at: '2026-11-23T07:05:00Z' }, // a retry
        { providerMessageId: m2, status: 'read', at: '2026-11-23T15:05:00Z' },
        { providerMessageId: m4, status: 'delivered', at: '2026-11-23T07:04:00Z' }, // after its failure
      ];
    };
    const together = await h.receipts(batch(x.pids, 'sbx-unknown-x')).expect(200);
    expect(together.body.results).toEqual([
      'applied',
      'applied',
      'parked',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const alone: string[] = [];
    for (const r of batch(y.pids, 'sbx-unknown-y')) alone.push(...(await h.receipts([r]).expect(200)).body.results);
    expect(alone).toEqual(together.body.results);
    await h.settle();
    const state = async (s: typeof x) => ({
      messages: await Promise.all(
        s.messages.map(async (m) => {
          const body = (await h.api('agent').get(`/api/v1/messages/${m}`).expect(200)).body;
          return {
            status: body.message.status,
            attempts: body.attempts.map((a: { channel: string; status: string; receipts: Array<{ status: string; at: string }> }) => ({
              channel: a.channel,
              status: a.status,
              receipts: a.receipts.map((r) => `${r.status}@${r.at}`).sort(),
            })),
          };
        }),
      ),
      contacts: await Promise.all(
        s.contacts.map(async (c) => {
          const contact = (await h.api('agent').get(`/api/v1/contacts/${c}`).expect(200)).body.contact;
          return { engagement: contact.engagement, readHours: contact.readHours };
        }),
      ),
    });
    const got = await state(x);
    expect(got).toEqual(await state(y));
    expect(got.messages.map((m) => m.status)).toEqual(['read', 'read', 'read', expect.any(String)]);
    expect(got.messages[0]?.attempts[0]?.receipts).toHaveLength(2);
    // the first contact: both its messages delivered and read (the retried read counted once); the
    // second: its delivered message read, and the delivery that came after a failure counted too
    expect(got.contacts[0]?.engagement.sms).toMatchObject({ delivered: 2, read: 2 });
    expect(got.contacts[1]?.engagement.sms).toMatchObject({ delivered: 2, read: 1 });
    expect(await h.db.selectFrom('pending_receipts').select('provider_message_id').orderBy('provider_message_id').execute()).toEqual([
      { provider_message_id: 'sbx-unknown-x' },
      { provider_message_id: 'sbx-unknown-y' },
    ]);
  });
});

describe.each([{ name: 'sqlite' }, { name: 'postgres' }])('events applied together ($name)', ({ name }) => {
  const harness = () =>
    startHarness({
      at: MORNING,
      ...(name === 'postgres' ? { postgresSchema: `evt_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
    });
  it('each is recorded once on its contact and moves its journeys, whether its contact has one event in the commit or several', async () => {
    h = await harness();
    const [a, b, c] = [await contact('+254711000031'), await contact('+254711000032'), await contact('+254711000033')];
    const ev = (id: string, type: string, contactId: string, invoice: string) => ({
      id,
      type,
      occurredAt: MORNING,
      contact: { id: contactId },
      object: { type: 'invoice', id: invoice },
    });
    // each contact's only event of the commit
    await h
      .api('integration')
      .post('/api/v1/events')
      .send([ev('t-1', 'invoice.overdue', a, 'inv-a'), ev('t-2', 'invoice.overdue', b, 'inv-b'), ev('t-3', 'invoice.overdue', c, 'inv-c')])
      .expect(202);
    await h.settle();
    // a's two events and b's one: a's first is applied before its second is recorded
    await h
      .api('integration')
      .post('/api/v1/events')
      .send([ev('t-4', 'invoice.paid', a, 'inv-a'), ev('t-5', 'invoice.paid', b, 'inv-b'), ev('t-6', 'invoice.overdue', a, 'inv-a2')])
      .expect(202);
    await h.settle();
    const recorded = await h.db.selectFrom('contact_events').select(['id', 'contact_id']).orderBy('id').execute();
    expect(recorded).toEqual([
      { id: 'api:t-1', contact_id: a },
      { id: 'api:t-2', contact_id: b },
      { id: 'api:t-3', contact_id: c },
      { id: 'api:t-4', contact_id: a },
      { id: 'api:t-5', contact_id: b },
      { id: 'api:t-6', contact_id: a },
    ]);
    const journeys = await h.db.selectFrom('journey_instances').select(['key', 'status']).orderBy('key').execute();
    expect(journeys).toEqual([
      { key: 'object:invoice:inv-a', status: 'exited' },
      { key: 'object:invoice:inv-a2', status: 'active' },
      { key: 'object:invoice:inv-b', status: 'exited' },
      { key: 'object:invoice:inv-c', status: 'active' },
    ]);
    expect((await h.store.sandbox.sends()).map((s) => s.address).sort()).toEqual([
      '+254711000031',
      '+254711000031',
      '+254711000032',
      '+254711000033',
    ]);
    const rows = await h.db.selectFrom('inbox').select(['event_id', 'processed_at', 'error']).execute();
    expect(rows.every((r) => r.processed_at !== null && r.error === null)).toBe(true);
  });

  it('one event that fails takes only itself back; the others of its commit stand', async () => {
    h = await harness();
    const a = await contact('+254711000021');
    const b = await contact('+254711000022');
    const ev = (id: string, contactId: string) => ({
      id,
      type: 'invoice.overdue',
      occurredAt: MORNING,
      contact: { id: contactId },
      object: { type: 'invoice', id },
    });
    // the middle one names a contact that does not exist (past the API's check, as a stored event
    // could be: its contact erased after it was accepted); the three are stored before the worker
    // looks, so that they are taken and applied together
    for (const e of [ev('g-1', a), ev('g-2', '01a20000-0000-7000-8000-000000000000'), ev('g-3', b)])
      await h.store.inbox.accept({ source: 'api', eventId: e.id, type: e.type, payload: { ...e, source: 'api' } }, h.clock.now().getTime());
    await h.settle();
    const rows = await h.db.selectFrom('inbox').select(['event_id', 'processed_at', 'error']).orderBy('event_id').execute();
    expect(rows.map((r) => [r.event_id, r.processed_at !== null, r.error !== null])).toEqual([
      ['g-1', true, false],
      ['g-2', true, true],
      ['g-3', true, false],
    ]);
    expect((await h.store.sandbox.sends()).map((s) => s.address).sort()).toEqual(['+254711000021', '+254711000022']);
    expect(await h.db.selectFrom('journey_instances').select('id').execute()).toHaveLength(2);
    // the events were first applied under one savepoint, then again under one each: each event is
    // counted once, for what finally happened to it
    const metrics = (await h.api('metrics').get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^signalbox_inbox_events_total\{source="api",outcome="applied"[^}]*\} 2$/m);
    expect(metrics).toMatch(/^signalbox_inbox_events_total\{source="api",outcome="dead"[^}]*\} 1$/m);
    // and each of the two messages decided is counted once
    const decided = metrics
      .split('\n')
      .filter((l) => l.startsWith('signalbox_decisions_total{'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(decided).toBe(2);
  });
  it('an event that keeps failing is retried after 1, 2, 4 and 8 s, then dropped with its error', async () => {
    h = await startHarness({ at: MORNING });
    // past the API's validation (as a stored event could be, written by an older version): a
    // phone number that is not E.164 fails every time it is applied
    await h.store.inbox.accept(
      {
        source: 'api',
        eventId: 'bad-1',
        type: 'invoice.overdue',
        payload: {
          id: 'bad-1',
          source: 'api',
          type: 'invoice.overdue',
          occurredAt: MORNING,
          contact: { identities: [{ kind: 'phone', value: '0700 123' }] },
        },
      },
      h.clock.now().getTime(),
    );
    const row = () =>
      h.db.selectFrom('inbox').select(['attempts', 'processed_at', 'error']).where('event_id', '=', 'bad-1').executeTakeFirstOrThrow();
    await h.settle();
    expect(await row()).toMatchObject({ attempts: 1, processed_at: null, error: expect.stringMatching(/E\.164/) });
    await h.advance(900); // not before its retry time
    expect((await row()).attempts).toBe(1);
    for (const [wait, tries] of [
      [101, 2],
      [2001, 3],
      [4001, 4],
    ] as const) {
      await h.advance(wait);
      expect(await row()).toMatchObject({ attempts: tries, processed_at: null });
    }
    await h.advance(8001);
    expect(await row()).toMatchObject({ attempts: 5, processed_at: h.clock.now().getTime(), error: expect.stringMatching(/E\.164/) });
    expect(await h.store.inbox.backlog()).toBe(0);
  });
});

describe('a provider call that fails', () => {
  /** An overdue invoice of the contact: its payment reminder's first SMS is due at once. */
  const overdue = (invoice: string, contactId: string) =>
    h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: invoice,
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id: contactId },
        object: { type: 'invoice', id: invoice },
      })
      .expect(202);

  it('is made again 30 s later under the same claim, through the send gate; the message goes out once', async () => {
    let failures = 0;
    h = await startHarness({
      at: MORNING,
      wrapSandbox: (sandbox) => ({
        name: 'sandbox',
        async send(m) {
          if (failures++ === 0) throw new Error('connect ECONNRESET');
          return sandbox.send(m);
        },
      }),
    });
    const id = await contact('+254711000031');
    await overdue('flaky-1', id);
    await h.settle();
    expect(failures).toBe(1);
    expect(await h.store.sandbox.sends()).toEqual([]);
    const [message] = await h.store.messages.forContact(id);
    expect((await h.store.attempts.forMessage(message?.id as string)).map((a) => a.status)).toEqual(['claimed']);
    await h.advance(29_000);
    expect(failures).toBe(1);
    await h.advance(1_001);
    expect(failures).toBe(2);
    expect((await h.store.sandbox.sends()).map((s) => [s.claim, s.address])).toEqual([[`${message?.id}:0`, '+254711000031']]);
    expect((await h.store.attempts.forMessage(message?.id as string)).map((a) => a.status)).toEqual(['read']);
    await h.advance(120_000);
    expect(failures).toBe(2);
  });

  it('the provider took it but the answer was lost, and the receipts with the instance that sent: made again under the same claim, one message, and its receipts arrive', async () => {
    let calls = 0;
    // the first call reaches the provider (its log has the message), then the instance dies before
    // its answer is recorded or the provider's receipts, posted to it, are taken
    let dying: SandboxProvider | null = null;
    h = await startHarness({
      at: MORNING,
      wrapSandbox: (sandbox) => ({
        name: 'sandbox',
        async send(m) {
          if (calls++ > 0) return sandbox.send(m);
          dying ??= new SandboxProvider({
            sends: h.store.sandbox,
            log: createLogger('silent'),
            secret: 'another-instance-secret-0123456789',
            receiptUrl: () => null,
            now: () => h.clock.now().getTime(),
          });
          await dying.send(m);
          throw new Error('socket hang up');
        },
      }),
    });
    const id = await contact('+254711000032');
    await overdue('lost-1', id);
    await h.settle();
    const [message] = await h.store.messages.forContact(id);
    expect((await h.store.attempts.forMessage(message?.id as string)).map((a) => a.status)).toEqual(['claimed']);
    await h.advance(30_001);
    expect(calls).toBe(2);
    // one message (the provider knows the claim), asked for twice
    expect((await h.store.sandbox.sends()).map((s) => [s.claim, s.calls])).toEqual([[`${message?.id}:0`, 2]]);
    const [attempt] = await h.store.attempts.forMessage(message?.id as string);
    expect(attempt?.status).toBe('read');
    // timed as the provider first took it, once each
    const receipts = await h.db
      .selectFrom('receipts')
      .select(['status', 'at'])
      .where('attempt_id', '=', attempt?.id as string)
      .orderBy('status')
      .execute();
    expect(receipts.map((r) => [r.status, Number(r.at)])).toEqual([
      ['delivered', Date.parse(MORNING)],
      ['read', Date.parse(MORNING)],
    ]);
    expect((await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.engagement).toEqual({
      sms: { sent: 1, delivered: 1, read: 1, replied: 0 },
    });
  });

  it('the provider took it and said "undeliverable", then the answer was lost: made again, the same receipt again changes nothing, one fallback', async () => {
    let calls = 0;
    h = await startHarness({
      at: MORNING,
      wrapSandbox: (sandbox) => ({
        name: 'sandbox',
        async send(m) {
          if (calls++ > 0) return sandbox.send(m);
          // the provider takes it (and posts its receipt, which waits for the send's bookkeeping)
          await sandbox.send(m);
          throw new Error('socket hang up');
        },
      }),
    });
    // numbers ending in 0: undeliverable on WhatsApp; the plan falls back to SMS
    const id = await contact('+254711000040', { capabilities: { whatsapp: true } });
    const sent = await request(id, { type: 'service', template: 'order_update', rich: true });
    expect(sent.decision.plan.map((s: { channel: string }) => s.channel)).toEqual(['whatsapp', 'sms']);
    await h.settle();
    expect((await h.store.attempts.forMessage(sent.messageId)).map((a) => a.status)).toEqual(['claimed']);
    await h.advance(30_001);
    await h.advance(60 * MIN);
    expect(calls).toBe(3);
    // WhatsApp asked twice for one message; the fallback SMS once
    expect((await h.store.sandbox.sends()).map((s) => [s.channel, s.calls])).toEqual([
      ['whatsapp', 2],
      ['sms', 1],
    ]);
    const attempts = await h.store.attempts.forMessage(sent.messageId);
    expect(attempts.map((a) => [a.channel, a.status])).toEqual([
      ['whatsapp', 'undelivered'],
      ['sms', 'read'],
    ]);
    const logged = await h.db
      .selectFrom('receipts')
      .select('status')
      .where('attempt_id', '=', (attempts[0] as { id: string }).id)
      .execute();
    expect(logged.map((r) => r.status)).toEqual(['undelivered']);
    expect((await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact.engagement).toEqual({
      sms: { sent: 1, delivered: 1, read: 1, replied: 0 },
    });
  });
});

describe('inventory report', () => {
  it('answers how many messages went last month, by channel, team, journey, type and outcome, with cost', async () => {
    h = await startHarness({ at: MORNING });
    const a = await contact('+254711000004', { capabilities: { whatsapp: true } });
    await request(a, { type: 'otp', team: 'security' });
    await request(a, { type: 'service', team: 'support', template: 'order_update' });
    await h.settle();
    const r = await h
      .api('admin')
      .get('/api/v1/reports/inventory')
      .query({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' })
      .expect(200);
    expect(r.body.total.messages).toBe(2);
    expect(r.body.byChannel).toEqual({ sms: { messages: 1, cost: 0.008 }, whatsapp: { messages: 1, cost: 0.012 } });
    expect(r.body.byTeam).toMatchObject({ security: { messages: 1 }, support: { messages: 1 } });
    expect(r.body.byOutcome).toEqual({ read: { messages: 2, cost: 0.02 } });
    await h.api('agent').get('/api/v1/reports/inventory').query({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }).expect(403);
    const bad = await h.api('admin').get('/api/v1/reports/inventory').query({ from: 'last month' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['/query/from', '/query/to']);
    expect(bad.body.errors[0].message).toContain('or a date');
    // dates alone are midnight UTC: the same month
    const byDate = await h.api('admin').get('/api/v1/reports/inventory').query({ from: '2026-11-01', to: '2026-12-01' }).expect(200);
    expect(byDate.body).toEqual(r.body);
  });
});

describe('sensitive case held for review', () => {
  it('waits for a person; approved it goes, rejected it never does; audited', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000005', { vulnerable: true });
    const held = await request(id, { type: 'service', category: 'collections', template: 'balance_due' });
    expect(held.status).toBe('review');
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(0);
    await h.api('integration').post(`/api/v1/messages/${held.messageId}/review`).send({ verdict: 'approve' }).expect(403);
    const ok = await h
      .api('agent')
      .post(`/api/v1/messages/${held.messageId}/review`)
      .send({ verdict: 'approve', note: 'spoke to the customer' })
      .expect(200);
    expect(ok.body.status).toBe('queued');
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['sms']);
    await h.api('agent').post(`/api/v1/messages/${held.messageId}/review`).send({ verdict: 'reject' }).expect(409);

    const second = await request(id, { type: 'service', category: 'collections', template: 'final_notice' });
    await h.api('agent').post(`/api/v1/messages/${second.messageId}/review`).send({ verdict: 'reject' }).expect(200);
    await h.advance(60 * MIN);
    expect(await h.store.sandbox.sends()).toHaveLength(1);
    const audit = await h.db.selectFrom('audit_log').select(['actor', 'action']).where('action', 'like', 'message.review.%').execute();
    expect(audit).toEqual([
      { actor: 'agent:desk', action: 'message.review.approve' },
      { actor: 'agent:desk', action: 'message.review.reject' },
    ]);
  });

  it('queued at night for a contact flagged vulnerable before the morning: held for a person, not sent', async () => {
    h = await startHarness({ at: '2026-11-23T00:30:00Z' });
    const id = await contact('+254711000007');
    const queued = await request(id, { type: 'service', category: 'collections', template: 'balance_due' });
    expect(queued.decision.outcome).toBe('defer');
    await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254711000007' }], vulnerable: true })
      .expect(200);
    await h.advance(5 * 60 * MIN);
    expect(await h.store.sandbox.sends()).toHaveLength(0);
    const m = await h.api('agent').get(`/api/v1/messages/${queued.messageId}`).expect(200);
    expect(m.body.message.status).toBe('review');
    // approved, it goes
    await h.api('agent').post(`/api/v1/messages/${queued.messageId}/review`).send({ verdict: 'approve' }).expect(200);
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(1);
  });

  it('approved in the night, it waits for the morning as any message would', async () => {
    // 03:30 in Nairobi
    h = await startHarness({ at: '2026-11-23T00:30:00Z' });
    const id = await contact('+254711000006', { vulnerable: true });
    const held = await request(id, { type: 'service', category: 'collections', template: 'balance_due' });
    expect(held.status).toBe('review');
    await h.api('agent').post(`/api/v1/messages/${held.messageId}/review`).send({ verdict: 'approve' }).expect(200);
    await h.settle();
    await h.advance(60 * MIN);
    expect(await h.store.sandbox.sends()).toHaveLength(0);
    // 08:00 local has come
    await h.advance(4 * 60 * MIN);
    const sends = await h.store.sandbox.sends();
    expect(sends).toHaveLength(1);
    expect(new Date(sends[0]?.at as number).toISOString() >= '2026-11-23T05:00:00.000Z').toBe(true);
  });
});
