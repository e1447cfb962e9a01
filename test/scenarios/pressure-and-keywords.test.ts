/**
 * The contact-pressure budget when requests race, what the send gate says when it holds a message
 * back, and consent keywords as people actually type them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

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

const grantMarketing = (id: string) =>
  h
    .api('integration')
    .post(`/api/v1/contacts/${id}/consent`)
    .send({ channel: '*', purpose: 'marketing', status: 'granted', source: 'crm' })
    .expect(201);

describe('two teams promote to one contact at the same moment', () => {
  it('one is sent; the other sees it and is deferred with the cap rule as its reason', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000201', {
      identities: [
        { kind: 'phone', value: '+254711000201' },
        { kind: 'email', value: 'p201@example.com' },
      ],
    });
    await grantMarketing(id);
    const promo = (team: string) =>
      h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id }, message: { type: 'promotional', template: 'black_friday', team } })
        .expect(202);
    const answers = (await Promise.all([promo('marketing'), promo('regional')])).map((r) => r.body);
    const outcomes = answers.map((a) => a.decision.outcome).sort();
    expect(outcomes).toEqual(['defer', 'send']);
    const deferred = answers.find((a) => a.decision.outcome === 'defer');
    expect(deferred.decision.reasons.find((r: { code: string }) => r.code === 'cap_exceeded')?.message).toMatch(/promo-daily/);
    await h.settle();
    expect(await h.store.sandbox.sends()).toHaveLength(1);
    // the agent's view of the held one says why it waits
    const held = (await h.api('agent').get(`/api/v1/messages/${deferred.messageId}`).expect(200)).body;
    expect(held.message.status).toBe('queued');
    expect(held.message.decision.reasons.map((r: { code: string }) => r.code)).toContain('cap_exceeded');
  });

  it.each(['sqlite', 'postgres'])(
    'a more important promotion goes before a less important one still waiting; the other is held back when its time comes (story 11, %s)',
    async (dialect) => {
      // 22:30 in Nairobi: promotions wait for the morning
      h = await startHarness({
        at: '2026-11-23T19:30:00Z',
        ...(dialect === 'postgres' ? { postgresSchema: `prio_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
      });
      const id = await contact('+254711000203', {
        identities: [
          { kind: 'phone', value: '+254711000203' },
          { kind: 'email', value: 'p203@example.com' },
        ],
      });
      await grantMarketing(id);
      const promo = (team: string, priority: string, template: string) =>
        h
          .api('integration')
          .post('/api/v1/messages')
          .send({ contact: { id }, message: { type: 'promotional', template, team, priority } })
          .expect(202)
          .then((r) => r.body);
      const low = await promo('regional', 'low', 'cyber_monday');
      expect(low.decision.outcome).toBe('defer');
      const high = await promo('marketing', 'high', 'black_friday');
      // the waiting low-priority one does not spend the budget of the high-priority one
      expect(high.decision.outcome).toBe('defer');
      expect(high.decision.reasons.map((r: { code: string }) => r.code)).not.toContain('cap_exceeded');
      expect(high.decision.reasons.find((r: { code: string; message: string }) => r.code === 'cap')?.message).toMatch(
        /give way to this high one/,
      );
      expect(high.decision.sendAt).toBe(low.decision.sendAt);
      // morning: the high one goes; the low one, due at the same time, is held back by the cap
      await h.advance(12 * 3_600_000);
      const sends = await h.store.sandbox.sends();
      expect(sends).toHaveLength(1);
      const sent = (await h.api('agent').get(`/api/v1/messages/${high.messageId}`).expect(200)).body;
      expect(sent.message.status).not.toBe('queued');
      const held = (await h.api('agent').get(`/api/v1/messages/${low.messageId}`).expect(200)).body;
      expect(held.message.status).toBe('queued');
      const last = held.decisions.at(-1).decision;
      expect(last.outcome).toBe('defer');
      expect(last.reasons.find((r: { code: string }) => r.code === 'cap_exceeded')?.message).toMatch(
        /promo-daily.*marketing.*held back for team regional/,
      );
    },
  );

  it.each(['sqlite', 'postgres'])(
    'a budget counts a held-back message from when it went, not from when it was asked for: one promotion a day, also the day after (%s)',
    async (dialect) => {
      h = await startHarness({
        at: MORNING,
        ...(dialect === 'postgres' ? { postgresSchema: `went_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
      });
      const id = await contact('+254711000204', {
        identities: [
          { kind: 'phone', value: '+254711000204' },
          { kind: 'email', value: 'p204@example.com' },
        ],
      });
      await grantMarketing(id);
      const promo = (template: string) =>
        h
          .api('integration')
          .post('/api/v1/messages')
          .send({ contact: { id }, message: { type: 'promotional', template, team: 'marketing' } })
          .expect(202)
          .then((r) => r.body);
      const MIN = 60_000;
      expect((await promo('black_friday')).decision.outcome).toBe('send');
      await h.settle();
      // asked a minute and two minutes later: both wait for the budget
      await h.advance(MIN);
      const second = await promo('cyber_monday');
      expect(second.decision.outcome).toBe('defer');
      await h.advance(MIN);
      const third = await promo('black_friday');
      expect(third.decision.outcome).toBe('defer');
      // a day after the first: the second goes
      await h.advance(24 * 60 * MIN - 2 * MIN);
      expect(await h.store.sandbox.sends()).toHaveLength(2);
      // the third's time comes a minute later: the second went only a minute ago, so it waits again
      await h.advance(2 * MIN);
      expect(await h.store.sandbox.sends()).toHaveLength(2);
      const held = (await h.api('agent').get(`/api/v1/messages/${third.messageId}`).expect(200)).body;
      expect(held.message.status).toBe('queued');
      expect(held.decisions.at(-1).decision.reasons.find((r: { code: string }) => r.code === 'cap_exceeded')?.message).toMatch(
        /promo-daily/,
      );
      // and goes a day after the second went
      await h.advance(24 * 60 * MIN);
      expect(await h.store.sandbox.sends()).toHaveLength(3);
      const sends = (await h.store.sandbox.sends()).map((s) => s.at).sort((a, b) => a - b);
      expect((sends[2] as number) - (sends[1] as number)).toBeGreaterThanOrEqual(24 * 60 * MIN);
    },
  );

  it('a message the send gate holds back again records the new decision and its reasons', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000202', {
      identities: [
        { kind: 'phone', value: '+254711000202' },
        { kind: 'email', value: 'p202@example.com' },
      ],
    });
    await grantMarketing(id);
    // the first promotion goes now; the second waits a day (the daily budget); a ticket opened
    // meanwhile, so when the send gate takes it up again it is suppressed, and says why
    const first = (
      await h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id }, message: { type: 'promotional', template: 'black_friday' } })
        .expect(202)
    ).body;
    expect(first.decision.outcome).toBe('send');
    await h.settle();
    const second = (
      await h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id }, message: { type: 'promotional', template: 'cyber_monday' } })
        .expect(202)
    ).body;
    expect(second.decision.outcome).toBe('defer');
    // the ticket opened meanwhile: no promotion while it is open
    await h
      .api('integration')
      .post('/api/v1/events')
      .send({ id: 't-1', type: 'ticket.opened', occurredAt: MORNING, contact: { id }, object: { type: 'ticket', id: 't-1' } })
      .expect(202);
    await h.advance(25 * 3_600_000);
    const msg = (await h.api('agent').get(`/api/v1/messages/${second.messageId}`).expect(200)).body;
    expect(msg.message.status).toBe('cancelled');
    expect(msg.decisions).toHaveLength(1);
    expect(msg.decisions[0].decision.outcome).toBe('suppress');
    expect(msg.decisions[0].decision.reasons.map((r: { code: string }) => r.code)).toContain('suppressed');
    expect(await h.store.sandbox.sends()).toHaveLength(1);
  });
});

describe('opt-out keywords as people type them', () => {
  it('"UNSUBSCRIBE.", "Stop!", "stop all please", "Opt-out" revoke; the raw text is the ledger evidence', async () => {
    h = await startHarness({ at: MORNING });
    const cases: Array<[string, string, string]> = [
      ['+254711000211', 'UNSUBSCRIBE.', 'stop'],
      ['+254711000212', 'Stop!', 'stop'],
      ['+254711000213', '  stop all please ', 'stopAll'],
      ['+254711000214', 'Opt-out', 'stop'],
      ['+254711000215', 'STÖP', 'stop'],
    ];
    for (const [i, [phone, text, keyword]] of cases.entries()) {
      const id = await contact(phone);
      const r = await h.inbound({ id: `kw-${i}`, channel: 'sms', from: phone, text }).expect(200);
      expect(r.body.keyword, text).toBe(keyword);
      const ledger = (await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<{
        channel: string;
        purpose: string;
        status: string;
        source: string;
        evidence: string;
      }>;
      expect(
        ledger.map((c) => `${c.channel}/${c.purpose}/${c.status}`),
        text,
      ).toEqual(keyword === 'stopAll' ? ['*/marketing/revoked', '*/service/revoked'] : ['sms/marketing/revoked', 'sms/service/revoked']);
      expect(ledger[0]?.evidence).toContain(`"${text}"`);
      expect(ledger[0]?.source).toBe('keyword');
    }
  });

  it('START or YES from someone who never opted out grants nothing: it is a reply; after a STOP it restores what STOP took, and says so', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000231');
    const ledger = async () =>
      ((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger as Array<Record<string, string>>).map(
        (c) => `${c.channel}/${c.purpose}/${c.status}`,
      );
    for (const [i, text] of ['YES', 'Start'].entries()) {
      const r = await h.inbound({ id: `st-${i}`, channel: 'sms', from: '+254711000231', text }).expect(200);
      expect(r.body, text).toMatchObject({ keyword: null, event: 'reply.received' });
    }
    expect(await ledger()).toEqual([]);
    await h.settle();
    expect(await h.store.sandbox.sends()).toEqual([]);
    // STOP, then START: what STOP took on SMS comes back (service, on by default), not a marketing
    // consent the contact never gave; each with a confirmation in words
    await h.inbound({ id: 'st-stop', channel: 'sms', from: '+254711000231', text: 'STOP' }).expect(200);
    const back = await h.inbound({ id: 'st-start', channel: 'sms', from: '+254711000231', text: 'YES' }).expect(200);
    expect(back.body.keyword).toBe('start');
    expect(await ledger()).toEqual(['sms/marketing/revoked', 'sms/service/revoked', 'sms/service/granted']);
    // someone who had opted in to marketing gets it back after STOP and START
    const optedIn = await contact('+254711000233');
    h.clock.advance(60_000);
    await h
      .api('integration')
      .post(`/api/v1/contacts/${optedIn}/consent`)
      .send({ channel: 'sms', purpose: 'marketing', status: 'granted', source: 'crm' })
      .expect(201);
    h.clock.advance(60_000);
    await h.inbound({ id: 'oi-stop', channel: 'sms', from: '+254711000233', text: 'STOP' }).expect(200);
    h.clock.advance(60_000);
    expect((await h.inbound({ id: 'oi-start', channel: 'sms', from: '+254711000233', text: 'START' }).expect(200)).body.keyword).toBe(
      'start',
    );
    const theirs = (
      (await h.api('agent').get(`/api/v1/contacts/${optedIn}/consent`).expect(200)).body.ledger as Array<Record<string, string>>
    ).map((c) => `${c.channel}/${c.purpose}/${c.status}`);
    expect(theirs).toEqual([
      'sms/marketing/granted',
      'sms/marketing/revoked',
      'sms/service/revoked',
      'sms/marketing/granted',
      'sms/service/granted',
    ]);
    await h.settle();
    const texts = (await h.store.sandbox.sends()).slice(0, 2).map((x) => (x.rendered as { text?: string } | null)?.text);
    expect(texts).toEqual([
      'You are unsubscribed from these messages on this number. Reply START to subscribe again.',
      'You are subscribed again. Reply STOP at any time to unsubscribe.',
    ]);
    // STOP ALL's and HELP's confirmations are words too
    const other = await contact('+254711000232');
    await h.inbound({ id: 'st-all', channel: 'sms', from: '+254711000232', text: 'STOP ALL' }).expect(200);
    await h.inbound({ id: 'st-help', channel: 'sms', from: '+254711000232', text: 'HELP' }).expect(200);
    await h.settle();
    expect(other).toBeTruthy();
    expect((await h.store.sandbox.sends()).slice(4).map((x) => (x.rendered as { text?: string } | null)?.text)).toEqual([
      'You are unsubscribed from all our messages, on every channel. Reply START to subscribe again here.',
      'Reply STOP to unsubscribe or START to subscribe again. For anything else, contact our support team.',
    ]);
  });

  it('a message that only mentions the word is not an opt-out', async () => {
    h = await startHarness({ at: MORNING });
    const id = await contact('+254711000221');
    for (const [i, text] of ['When does it stop raining?', "don't stop", 'STOPPED'].entries()) {
      const r = await h.inbound({ id: `nk-${i}`, channel: 'sms', from: '+254711000221', text }).expect(200);
      expect(r.body.keyword, text).toBeNull();
    }
    expect((await h.api('agent').get(`/api/v1/contacts/${id}/consent`).expect(200)).body.ledger).toEqual([]);
  });
});
