/**
 * Issue 16, content: templates rendered per channel and language through the real HTTP API and the
 * sandbox provider, what was sent recorded per attempt, and the agent's story of a contact.
 */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { agentView } from '../../packages/app/src/agent-view/agent-view.js';
import { type Harness, startHarness } from '../support/harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
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

const preview = (body: unknown) =>
  h
    .api('integration')
    .post('/api/v1/templates/preview')
    .send(body as object);

describe('template preview', () => {
  it('renders per channel with language, segments, encoding and the cost of this message', async () => {
    h = await startHarness({ at: MORNING });
    const body = {
      template: 'payment_reminder_friendly',
      variables: { amount: 1250, currency: 'KES' },
      contact: { locale: 'sw-KE', market: 'KE', timezone: 'Africa/Nairobi', attributes: { firstName: 'Amina' } },
      object: { type: 'invoice', id: 'INV-9' },
      channels: ['sms', 'whatsapp', 'voice'],
    };
    const res = await preview(body).expect(200);
    expect(res.body.kinds).toEqual(['rich', 'text', 'ussd-menu']);
    const [sms, whatsapp, voice] = res.body.channels;
    expect(sms).toMatchObject({
      channel: 'sms',
      kind: 'text',
      language: 'sw',
      segments: { encoding: 'GSM-7', segments: 1 },
      cost: 0.008,
      currency: 'USD',
      rendered: { text: 'Habari Amina, ankara INV-9 ya 1250 KES imechelewa. Lipa hapa: https://pay.example.com/i/INV-9' },
    });
    expect(whatsapp).toMatchObject({
      channel: 'whatsapp',
      kind: 'rich',
      cost: 0.012,
      rendered: { whatsappTemplate: { name: 'payment_reminder_friendly' } },
    });
    expect(voice).toEqual({ channel: 'voice', kind: 'voice', refused: 'template payment_reminder_friendly has no voice content' });

    // one emoji in a variable: UCS-2, and the SMS costs what its segments cost
    const emoji = await preview({ ...body, variables: { amount: '1250 🙏🙏', currency: 'KES' }, channels: ['sms'] }).expect(200);
    expect(emoji.body.channels[0]).toMatchObject({ segments: { encoding: 'UCS-2', segments: 2 }, cost: 0.016 });
  });

  it('answers bad input with problem+json naming the path; refuses without a key', async () => {
    h = await startHarness({ at: MORNING });
    const unknown = await preview({ template: 'nope' }).expect(404);
    expect(unknown.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(unknown.body).toMatchObject({ code: 'TEMPLATE_NOT_FOUND', errors: [{ path: '/template' }] });
    const bad = await preview({ template: 'otp_code', variables: { code: { nested: true } } }).expect(400);
    expect(bad.body.code).toBe('INPUT_INVALID');
    expect(bad.body.errors[0].path).toBe('/variables/code');
    const channel = await preview({ template: 'otp_code', channels: ['sms', 'pigeon'] }).expect(404);
    expect(channel.body).toMatchObject({ code: 'CHANNEL_NOT_FOUND', errors: [{ path: '/channels/1' }] });
    const zone = await preview({ template: 'otp_code', contact: { timezone: 'Mars/Olympus' } }).expect(422);
    expect(zone.body.errors).toEqual([{ path: '/contact/timezone', message: 'not an IANA time zone' }]);
    const missing = await preview({ template: 'otp_code', channels: ['sms'] }).expect(200);
    expect(missing.body.channels[0].refused).toBe('template otp_code needs variable code');
    await h
      .api('integration')
      .post('/api/v1/templates/preview')
      .set('authorization', 'Bearer wrong')
      .send({ template: 'otp_code' })
      .expect(401);
  });
});

describe('publishing template content', () => {
  it('refuses a template reading an undeclared variable, naming the field; the active ruleset stays', async () => {
    h = await startHarness({ at: MORNING });
    const doc = structuredClone(DEFAULT_RULESET) as {
      version: string;
      templates: Record<string, { content: { text: Record<string, { text: string }> } }>;
    };
    doc.version = 'with-a-hole';
    (doc.templates.otp_code as { content: { text: Record<string, { text: string }> } }).content.text.en = {
      text: '{{ code }} for account {{ account }}',
    };
    const validate = await h.api('admin').post('/api/v1/rules/validate').send(doc).expect(422);
    expect(validate.body.errors).toEqual([
      {
        path: '/templates/otp_code/content/text/en/text',
        message: 'uses variable "account", which template otp_code does not declare in variables or optionalVariables',
      },
    ]);
    const publish = await h.api('admin').put('/api/v1/rules').send(doc).expect(422);
    expect(publish.body.code).toBe('RULES_INVALID');
    expect(publish.body.errors[0].path).toBe('/templates/otp_code/content/text/en/text');
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('default-2026.12');
  });
});

describe('what was sent, per attempt', () => {
  it('WhatsApp undeliverable → SMS: each attempt records its rendered content, provider id, segments and cost', async () => {
    h = await startHarness({ at: MORNING });
    // numbers ending in 0 are undeliverable on the sandbox's WhatsApp
    const id = await contact('+254711000100', { capabilities: { whatsapp: true }, locale: 'en' });
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-7-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'invoice', id: 'INV-7' },
        data: { amount: 120, currency: 'KES' },
      })
      .expect(202);
    await h.settle();
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.channel)).toEqual(['whatsapp', 'sms']);
    expect(sends[0]?.rendered).toMatchObject({
      kind: 'rich',
      whatsappTemplate: { name: 'payment_reminder_friendly', parameters: ['INV-7', '120'] },
    });
    expect(sends[1]?.rendered).toEqual({
      kind: 'text',
      text: 'Hi there, a friendly reminder: invoice INV-7 for 120 KES is overdue. Pay at https://pay.example.com/i/INV-7 - reply HELP for help.',
      segments: { encoding: 'GSM-7', segments: 1, characters: 130 },
    });

    const view = await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200);
    const sent = view.body.sent as Array<Record<string, unknown>>;
    expect(sent.map((a) => [a.channel, a.status])).toEqual([
      ['sms', 'read'],
      ['whatsapp', 'undelivered'],
    ]);
    expect(sent[0]).toMatchObject({
      provider: 'sandbox',
      providerMessageId: expect.stringMatching(/^sbx-/),
      language: 'en',
      encoding: 'GSM-7',
      segments: 1,
      cost: 0.008,
      content: { kind: 'text' },
    });
    expect(sent[1]).toMatchObject({ language: 'en', encoding: null, segments: null, content: { kind: 'rich' } });
    // the reports count each attempt for its own channel: the WhatsApp that did not arrive against
    // WhatsApp, the SMS that did for SMS, each at its own cost
    const w = { from: '2026-11-01', to: '2026-12-01' };
    const rates = (await h.api('admin').get('/api/v1/reports/rates').query(w).expect(200)).body.rows;
    expect(rates).toEqual([
      expect.objectContaining({ channel: 'sms', market: 'KE', went: 1, delivered: 1, failed: 0, cost: 0.008 }),
      expect.objectContaining({
        channel: 'whatsapp',
        market: 'KE',
        went: 0,
        delivered: 0,
        failed: 1,
        cost: sent[1]?.cost,
        deliveryRate: 0,
      }),
    ]);
    const costs = (await h.api('admin').get('/api/v1/reports/costs').query(w).expect(200)).body;
    expect(costs.byChannel).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ channel: 'sms', cost: 0.008, delivered: 1 }),
        expect.objectContaining({ channel: 'whatsapp', delivered: 0 }),
      ]),
    );
    // the decision priced the SMS on its segments and said so
    const decisions = await h.api('agent').get(`/api/v1/contacts/${id}/decisions`).expect(200);
    const reasons = decisions.body.decisions[0].decision.reasons as Array<{ code: string; message: string }>;
    expect(reasons.find((r) => r.code === 'segments')?.message).toBe('sms: 1 segment (GSM-7, 130 characters) × 0.008 = 0.008 USD');
  });

  it('a template declared rich goes rich where the channel carries it, without the request saying so', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+919812300001', { market: 'IN', timezone: 'Asia/Kolkata', capabilities: { rcs: true } });
    const sent = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({
        contact: { id },
        message: {
          type: 'rich',
          template: 'appointment_confirm_request',
          variables: { startsAt: '2026-12-10T10:00:00Z' },
          object: { type: 'appointment', id: 'A-1' },
        },
      })
      .expect(202);
    const first = sent.body.decision.plan[0] as { channel: string; content: string };
    expect(first).toMatchObject({ channel: 'rcs', content: 'rich' });
    await h.settle();
    const sends = await h.store.sandbox.sends();
    expect(sends[0]?.channel).toBe('rcs');
    expect(sends[0]?.rendered?.kind).toBe('rich');
  });

  it('a required variable left out, or a template the ruleset lacks, is refused at the door with the path: nothing with a hole goes out', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000201');
    const holed = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'otp', template: 'otp_code' } })
      .expect(422);
    expect(holed.body).toMatchObject({ code: 'TEMPLATE_VARIABLES_MISSING', errors: [{ path: '/message/variables/code' }] });
    const unknown = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'otp', template: 'does_not_exist' } })
      .expect(422);
    expect(unknown.body).toMatchObject({ code: 'TEMPLATE_UNKNOWN', errors: [{ path: '/message/template' }] });
    expect(unknown.body.errors[0].message).toContain('appointment_confirm_request');
    await h.settle();
    expect(await h.store.sandbox.sends()).toEqual([]);
    expect(await h.db.selectFrom('messages').select('id').execute()).toEqual([]);

    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'otp', template: 'otp_code', variables: { code: '482913' } } })
      .expect(202);
    await h.settle();
    const sends = await h.store.sandbox.sends();
    expect(sends.map((s) => s.rendered)).toEqual([
      {
        kind: 'text',
        text: '482913 is your verification code. It expires in 10 minutes. Never share it.',
        segments: { encoding: 'GSM-7', segments: 1, characters: 75 },
      },
    ]);
    // a retry with its Idempotency-Key gets the first answer, whatever the ruleset says since
    const keyed = () =>
      h
        .api('integration')
        .post('/api/v1/messages')
        .set('idempotency-key', 'order-9-shipped')
        .send({ contact: { id }, message: { type: 'transactional', template: 'order_shipped' } });
    const first = await keyed().expect(202);
    const inBody = () =>
      h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id }, message: { type: 'transactional', template: 'order_shipped', idempotencyKey: 'order-10-shipped' } });
    const firstInBody = await inBody().expect(202);
    const withoutIt = structuredClone((await h.api('admin').get('/api/v1/rules').expect(200)).body.ruleset);
    delete withoutIt.templates.order_shipped;
    withoutIt.version = 'no-order-shipped';
    await h.api('admin').put('/api/v1/rules').send(withoutIt).expect(200);
    const fresh = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'transactional', template: 'order_shipped' } })
      .expect(422);
    expect(fresh.body.code).toBe('TEMPLATE_UNKNOWN');
    const retried = await keyed().expect(202);
    expect(retried.body.messageId).toBe(first.body.messageId);
    expect((await inBody().expect(202)).body.messageId).toBe(firstInBody.body.messageId);
  });
});

describe('what a template shows, checked before it is sent', () => {
  it("a template that shows the CRM object needs one at the door; a contact without a time zone sees times in its market's", async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000202', { timezone: undefined });
    const noObject = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'service', template: 'payment_reminder_firm' } })
      .expect(422);
    expect(noObject.body).toMatchObject({ code: 'TEMPLATE_VARIABLES_MISSING', errors: [{ path: '/message/object' }] });
    // the preview refuses what /messages refuses
    await h
      .api('integration')
      .post('/api/v1/decisions/preview')
      .send({ contact: { id }, message: { type: 'service', template: 'payment_reminder_firm' } })
      .expect(422);
    // (with the CRM record's snapshot it shows, the preview decides)
    await h
      .api('admin')
      .post('/api/v1/decisions/preview')
      .send({
        contact: { identities: [{ kind: 'phone', value: '+254711000203' }], market: 'KE' },
        message: { type: 'service', template: 'payment_reminder_firm' },
        object: { id: 'INV-8', amount: 12 },
      })
      .expect(200);
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'service', template: 'payment_reminder_firm', object: { type: 'invoice', id: 'INV-8' } } })
      .expect(202);
    // 09:00 UTC is 12:00 in Nairobi, the KE market's zone: the contact has none of its own
    const reminder = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({
        contact: { id },
        message: { type: 'service', template: 'appointment_reminder', variables: { startsAt: '2026-11-24T09:00:00Z' } },
      })
      .expect(202);
    await h.settle();
    const attempts = (await h.api('agent').get(`/api/v1/messages/${reminder.body.messageId}`).expect(200)).body.attempts as Array<{
      status: string;
      error: string | null;
    }>;
    expect(attempts.filter((a) => a.error !== null)).toEqual([]);
    const sends = await h.store.sandbox.sends();
    expect(sends).toHaveLength(2);
    expect(JSON.stringify(sends[0]?.rendered)).toContain('INV-8');
    expect(JSON.stringify(sends[1]?.rendered)).toContain('12:00');
  });
});

describe("the agent's story of a contact", () => {
  it('tells what the contact did and wrote, where it broke, what was sent since and what comes next, in local and relative time', async () => {
    h = await startHarness({ at: MORNING });
    const phone = '+254711000301';
    const id = await contact(phone, { capabilities: { whatsapp: true } });
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({ id: 'kyc-1', type: 'kyc.failed', occurredAt: MORNING, contact: { id }, data: { step: 'selfie', reason: 'blurred photo' } })
      .expect(202);
    await h.settle();
    await h.advance(HOUR);
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { id }, message: { type: 'otp', template: 'otp_code', variables: { code: '112233' } } })
      .expect(202);
    await h.settle();
    await h.advance(HOUR);
    await h.inbound({ id: 'wa-1', channel: 'whatsapp', from: phone, text: 'Why was my photo refused?' }).expect(200);
    await h.settle();
    await h.advance(2 * HOUR);

    const c = await h.store.contacts.get(id);
    if (c === null) throw new Error('contact vanished');
    const view = await agentView(h.store, loadRuleset(DEFAULT_RULESET), c, h.clock.now().getTime());
    expect(view.summary).toContain('Did: wrote on whatsapp "Why was my photo refused?" 2 h ago (Mon 23 Nov, 12:00 Africa/Nairobi)');
    expect(view.summary).toContain('kyc.failed (step selfie, reason blurred photo) 4 h ago (Mon 23 Nov, 10:00 Africa/Nairobi)');
    expect(view.summary).toContain('Broke: kyc.failed (step selfie, reason blurred photo) 4 h ago (Mon 23 Nov, 10:00 Africa/Nairobi).');
    expect(view.summary).toContain(
      'Sent 1 message since; last otp_code by sms (read) "112233 is your verification code. It expires in 10 minutes. …" 3 h ago (Mon 23 Nov, 11:00 Africa/Nairobi).',
    );
    expect(view.summary).toContain('Nothing scheduled.');
    expect(view.summary).not.toMatch(/\d\d:\d\dZ|UTC/);
    expect(view.sent[0]).toMatchObject({ template: 'otp_code', channel: 'sms', segments: 1, encoding: 'GSM-7', ago: '3 h ago' });
    expect(view.timeline[0]).toMatchObject({
      kind: 'event',
      title: 'reply.received',
      detail: 'wrote on whatsapp "Why was my photo refused?"',
      ago: '2 h ago',
      local: 'Mon 23 Nov, 12:00 Africa/Nairobi',
    });
    // a free reply is text, not a keyword (only what the event map matched is one)
    const reply = await h.db.selectFrom('contact_events').select('data').where('type', '=', 'reply.received').executeTakeFirstOrThrow();
    expect(JSON.parse(reply.data)).toMatchObject({ channel: 'whatsapp', keyword: null, text: 'Why was my photo refused?' });
  });
});
