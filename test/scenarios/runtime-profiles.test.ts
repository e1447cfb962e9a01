/**
 * The runtime on both profiles — embedded SQLite and production PostgreSQL — for journeys driven
 * by replies, engagement learned from receipts, and identity conflicts an agent can see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const MORNING = '2026-11-23T07:00:00Z';
const HOUR = 3_600_000;
let h: Harness;
afterEach(async () => h?.close());

const profiles = [
  { name: 'sqlite', schema: undefined },
  { name: 'postgres', schema: 'x' },
] as const;

describe.each(profiles)('runtime on $name', (profile) => {
  const start = () =>
    startHarness({
      at: MORNING,
      ...(profile.schema ? { postgresSchema: `scn_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}` } : {}),
    });

  it('payment reminder stops the moment the invoice is paid, including a fallback about to fire', async () => {
    h = await start();
    const c = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({
        identities: [{ kind: 'phone', value: '+254733100009' }],
        market: 'KE',
        timezone: 'Africa/Nairobi',
        capabilities: { whatsapp: true },
      })
      .expect(201);
    const id = c.body.contact.id;
    // give WhatsApp a session window so the reminder goes there first (and its SMS fallback waits)
    await h.inbound({ id: 'hello', channel: 'whatsapp', from: '+254733100009', text: 'hi' }).expect(200);
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-9-overdue',
        type: 'invoice.overdue',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'invoice', id: 'inv-9' },
      })
      .expect(202);
    await h.settle();
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    // paid 10 minutes later, while the SMS fallback (15 min) is pending
    h.clock.advance(10 * 60_000);
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'inv-9-paid',
        type: 'invoice.paid',
        occurredAt: h.clock.now().toISOString(),
        contact: { id },
        object: { type: 'invoice', id: 'inv-9' },
      })
      .expect(202);
    await h.settle();
    await h.advance(HOUR);
    await h.advance(8 * 24 * HOUR);
    expect((await h.store.sandbox.sends()).map((s) => s.channel)).toEqual(['whatsapp']);
    expect(await h.store.timers.pending()).toEqual([]);
  });

  it('a Confirm button reply moves the appointment journey on', async () => {
    h = await start();
    const c = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254733100001' }], market: 'KE', timezone: 'Africa/Nairobi' })
      .expect(201);
    const id = c.body.contact.id;
    const startsAt = new Date(Date.parse(MORNING) + 3 * 24 * HOUR).toISOString();
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({
        id: 'appt-1',
        type: 'appointment.booked',
        occurredAt: MORNING,
        contact: { id },
        object: { type: 'appointment', id: 'a-1' },
        data: { startsAt },
      })
      .expect(202);
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(1);
    const reply = await h.inbound({ id: 'btn-1', channel: 'sms', from: '+254733100001', payload: 'confirm' }).expect(200);
    expect(reply.body.event).toBe('reply.confirm');
    await h.settle();
    const msgs = await h.store.messages.forContact(id);
    expect(msgs.map((m) => m.template).reverse()).toEqual(['appointment_confirm_request', 'appointment_confirmed']);
    await h.advance(2 * 24 * HOUR);
    expect((await h.store.messages.forContact(id)).map((m) => m.template)).toContain('appointment_reminder');
  });

  it('read receipts teach engagement and the best hour', async () => {
    h = await start();
    const c = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254733100002' }], market: 'KE', timezone: 'Africa/Nairobi' })
      .expect(201);
    const id = c.body.contact.id;
    for (let i = 0; i < 3; i++) {
      await h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id }, message: { type: 'transactional', template: 'order_shipped' } })
        .expect(202);
      await h.settle();
    }
    const contact = (await h.api('agent').get(`/api/v1/contacts/${id}`).expect(200)).body.contact;
    expect(contact.engagement.sms).toEqual({ sent: 3, delivered: 3, read: 3, replied: 0 });
    // read at 10:00 Nairobi, three times: that is the best hour now
    expect(contact.readHours[10]).toBe(3);
  });

  it('an identity conflict is recorded and visible to the agent, not silently overwritten', async () => {
    h = await start();
    const a = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({
        identities: [
          { kind: 'hubspot', value: '101' },
          { kind: 'phone', value: '+254733100003' },
          { kind: 'email', value: 'a@example.com' },
        ],
      })
      .expect(201);
    const b = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({
        identities: [
          { kind: 'hubspot', value: '102' },
          { kind: 'phone', value: '+254733100003' },
          { kind: 'email', value: 'b@example.com' },
        ],
      })
      .expect(201);
    expect(b.body.conflicts).toEqual([{ kind: 'phone', value: '+254733100003', otherContactId: a.body.contact.id }]);
    const view = (await h.api('agent').get(`/api/v1/contacts/${a.body.contact.id}`).expect(200)).body;
    expect(view.conflicts[0]).toMatchObject({ kind: 'phone', otherContactId: b.body.contact.id });
    expect(view.contact.identities).toContainEqual({ kind: 'phone', value: '+254733100003' });
  });

  it('a request whose every identity is another contact’s that conflicts with it stores nothing: 409 at each identity', async () => {
    h = await start();
    const owner = async (email: string, hubspot: string) =>
      (
        await h
          .api('admin')
          .post('/api/v1/contacts')
          .send({
            identities: [
              { kind: 'hubspot', value: hubspot },
              { kind: 'email', value: email },
            ],
          })
          .expect(201)
      ).body.contact.id as string;
    const x1 = await owner('x1@example.com', '201');
    const x2 = await owner('x2@example.com', '202');
    const both = {
      identities: [
        { kind: 'email', value: 'x1@example.com' },
        { kind: 'email', value: 'x2@example.com' },
      ],
    };
    const count = async () =>
      (
        await h.db
          .selectFrom('contacts')
          .select((e) => e.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = Number(await count());
    // asked twice, each time refused: no contact without an identity to be found by
    for (let i = 0; i < 2; i++) {
      const res = await h.api('admin').post('/api/v1/contacts').send(both).expect(409);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'IDENTITY_CONFLICT',
        errors: [
          { path: '/identities/0/value', message: `belongs to contact ${x1}` },
          { path: '/identities/1/value', message: `belongs to contact ${x2}` },
        ],
      });
    }
    // a message for such a "contact": the same, located in the request
    const message = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: both, message: { type: 'transactional', template: 'order_shipped' } })
      .expect(409);
    expect(message.body.errors.map((e: { path: string }) => e.path)).toEqual([
      '/contact/identities/0/value',
      '/contact/identities/1/value',
    ]);
    // an import refuses that item alone, and one in a zone nobody knows alone: the rest are stored
    const imported = await h
      .api('integration')
      .post('/api/v1/contacts/import')
      .send([
        both,
        { identities: [{ kind: 'phone', value: '+254733100009' }], timezone: 'Mars/Base' },
        { identities: [{ kind: 'phone', value: '+254733100010' }] },
      ])
      .expect(200);
    expect(imported.body).toMatchObject({ imported: 1, failed: 2 });
    expect(imported.body.results[0].error).toMatchObject({
      code: 'IDENTITY_CONFLICT',
      path: '/0/identities/0/value',
      paths: ['/0/identities/0/value', '/0/identities/1/value'],
    });
    expect(imported.body.results[1].error).toMatchObject({ code: 'TIMEZONE_UNKNOWN', path: '/1/timezone' });
    expect(await h.store.contacts.findByIdentity('phone', '+254733100009')).toBeNull();
    expect(Number(await count())).toBe(before + 1);
    // one identity of its own is enough: created, the others recorded as conflicts
    const mixed = await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({ identities: [...both.identities, { kind: 'phone', value: '+254733100011' }] })
      .expect(201);
    expect(mixed.body.conflicts).toHaveLength(2);
    expect(mixed.body.contact.identities).toEqual([{ kind: 'phone', value: '+254733100011' }]);
  });

  it('a contact merged from two, holding both their emails, is found by either: its own email is no conflict', async () => {
    h = await start();
    const x = (
      await h
        .api('admin')
        .post('/api/v1/contacts')
        .send({
          identities: [
            { kind: 'phone', value: '+254733100021' },
            { kind: 'email', value: 'a@example.com' },
          ],
        })
        .expect(201)
    ).body.contact.id;
    await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({
        identities: [
          { kind: 'phone', value: '+254733100022' },
          { kind: 'email', value: 'b@example.com' },
        ],
      })
      .expect(201);
    // one person's two phones: merged into the older, which now holds both emails
    const merged = await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({
        identities: [
          { kind: 'phone', value: '+254733100021' },
          { kind: 'phone', value: '+254733100022' },
        ],
      })
      .expect(200);
    expect(merged.body.contact.id).toBe(x);
    expect(merged.body.contact.identities.filter((i: { kind: string }) => i.kind === 'email')).toHaveLength(2);
    // a message to the second email is the merged contact's (the email said last is the one kept)
    const sent = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({
        contact: { identities: [{ kind: 'email', value: 'b@example.com' }] },
        message: { type: 'transactional', template: 'order_shipped' },
      })
      .expect(202);
    expect(sent.body.contactId).toBe(x);
    const after = (await h.api('agent').get(`/api/v1/contacts/${x}`).expect(200)).body;
    expect(after.conflicts).toEqual([]);
    expect(after.contact.identities).toContainEqual({ kind: 'email', value: 'b@example.com' });
  });
});
