import { describe, expect, it } from 'vitest';
import { EngineInputError, JourneyStateError } from '../errors.js';
import type { JourneyCommand, JourneyInstance } from '../model/journey.js';
import { defaultCompiledRuleset } from '../testing/default-ruleset.js';
import { advance, journeysTriggeredBy, startJourney } from './advance.js';

const rs = defaultCompiledRuleset();
const T0 = Date.parse('2026-11-23T07:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const sends = (cmds: JourneyCommand[]) => cmds.filter((c) => c.type === 'send').map((c) => (c.type === 'send' ? c.request.template : ''));
const schedule = (cmds: JourneyCommand[]) =>
  cmds.find((c) => c.type === 'schedule') as Extract<JourneyCommand, { type: 'schedule' }> | undefined;

const overdue = {
  id: 'ev-1',
  type: 'invoice.overdue',
  contactId: 'c-1',
  object: { type: 'invoice', id: 'inv-9' },
  occurredAt: new Date(T0).toISOString(),
  data: { amount: 120 },
};

function fireTimer(inst: JourneyInstance, at: number) {
  const w = inst.waiting;
  if (w === null) throw new Error('not waiting');
  return advance(inst, { kind: 'timer', timerId: w.timerId }, at, rs);
}

describe('payment reminder journey', () => {
  it('reminds, waits three days, reminds more firmly, then calls; stops for good when paid', () => {
    expect(journeysTriggeredBy(rs, overdue).map((j) => j.id)).toEqual(['payment-reminder']);
    let step = startJourney('payment-reminder', overdue, 'ji-1', rs, T0);
    expect(step.instance.key).toBe('object:invoice:inv-9');
    expect(sends(step.commands)).toEqual(['payment_reminder_friendly']);
    const friendly = step.commands[0];
    expect(friendly?.type === 'send' && friendly.request).toMatchObject({
      type: 'service',
      category: 'payment_reminder',
      object: { type: 'invoice', id: 'inv-9' },
      idempotencyKey: 'journey:ji-1:friendly',
      variables: { amount: 120 },
    });
    expect(schedule(step.commands)?.dueAt).toBe(new Date(min(3 * 1440)).toISOString());

    step = fireTimer(step.instance, min(3 * 1440));
    expect(sends(step.commands)).toEqual(['payment_reminder_firm']);
    const waitingTimer = step.instance.waiting?.timerId as string;

    // paid after the second reminder: cancel the pending wait and every unsent message, goal reached
    const paid = advance(
      step.instance,
      { kind: 'event', event: { id: 'ev-2', type: 'invoice.paid', occurredAt: new Date(min(4 * 1440)).toISOString() } },
      min(4 * 1440),
      rs,
    );
    expect(paid.commands).toEqual([
      { type: 'cancel', timerIds: [waitingTimer], messages: 'all-unsent', reason: 'journey payment-reminder exited on invoice.paid' },
      { type: 'complete', outcome: 'goal', goalReached: true },
    ]);
    expect(paid.instance.status).toBe('exited');
    expect(paid.instance.goal?.reachedAt).toBe(new Date(min(4 * 1440)).toISOString());

    // the old timer firing later does nothing; nor does a repeated event
    expect(advance(paid.instance, { kind: 'timer', timerId: waitingTimer }, min(7 * 1440), rs).commands).toEqual([]);
    expect(
      advance(
        paid.instance,
        { kind: 'event', event: { id: 'ev-2', type: 'invoice.paid', occurredAt: '2026-11-30T00:00:00Z' } },
        min(7 * 1440),
        rs,
      ).commands,
    ).toEqual([]);
  });

  it('escalates to an urgent voice call on the last step when never paid', () => {
    let step = startJourney('payment-reminder', overdue, 'ji-2', rs, T0);
    step = fireTimer(step.instance, min(3 * 1440));
    step = fireTimer(step.instance, min(7 * 1440));
    expect(sends(step.commands)).toEqual(['payment_reminder_call']);
    const call = step.commands[0];
    expect(call?.type === 'send' && call.request.type).toBe('urgent');
    expect(step.commands.at(-1)).toEqual({ type: 'complete', outcome: 'unpaid', goalReached: false });
    expect(step.instance.status).toBe('completed');
  });

  it('a send step that replaces unsent messages cancels them before it is made; other sends leave earlier messages standing', () => {
    const opened = {
      id: 'ai-1',
      type: 'account.issue_opened',
      contactId: 'c-1',
      object: { type: 'account_issue', id: 'AI-1' },
      occurredAt: new Date(T0).toISOString(),
      data: {},
    };
    const first = startJourney('account-escalation', opened, 'ji-9', rs, T0);
    // the first message goes with no cancel before it
    expect(first.commands.map((c) => c.type)).toEqual(['send', 'schedule']);
    const urgent = advance(
      first.instance,
      { kind: 'event', event: { id: 'ai-1-urgent', type: 'account.issue_urgent', occurredAt: new Date(min(30)).toISOString() } },
      min(30),
      rs,
    );
    expect(urgent.commands.map((c) => c.type)).toEqual(['cancel', 'cancel', 'send', 'complete']);
    // the wait's timer goes, then the call replaces what was not sent yet
    expect(urgent.commands[0]).toMatchObject({ type: 'cancel', messages: 'none' });
    expect(urgent.commands[1]).toEqual({
      type: 'cancel',
      timerIds: [],
      messages: 'all-unsent',
      reason: 'replaced by step call of journey account-escalation',
    });
    expect(sends(urgent.commands)).toEqual(['account_issue_call']);
  });

  it('an event the journey does not care about leaves the instance untouched', () => {
    const step = startJourney('payment-reminder', overdue, 'ji-4', rs, T0);
    const other = advance(
      step.instance,
      { kind: 'event', event: { id: 'x1', type: 'ticket.opened', occurredAt: new Date(min(5)).toISOString() } },
      min(5),
      rs,
    );
    expect(other.instance).toBe(step.instance);
    expect(other.commands).toEqual([]);
  });

  it("takes the trigger's data as variables within what a request may give", () => {
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`v${i}`, i]));
    const big = {
      ...overdue,
      id: 'ev-big',
      data: { summary: 'x'.repeat(200_000), ['k'.repeat(61)]: 'long name', nested: { a: 1 }, ...many },
    };
    const send = startJourney('payment-reminder', big, 'ji-7', rs, T0).commands[0];
    const variables = (send?.type === 'send' ? send.request.variables : {}) as Record<string, unknown>;
    expect((variables.summary as string).length).toBe(2000);
    expect(variables['k'.repeat(61)]).toBeUndefined();
    expect(variables.nested).toBeUndefined();
    expect(Object.keys(variables)).toHaveLength(100);
  });

  it('a repeated trigger event id is ignored by the instance', () => {
    const step = startJourney('payment-reminder', overdue, 'ji-3', rs, T0);
    expect(advance(step.instance, { kind: 'event', event: overdue }, min(1), rs).commands).toEqual([]);
  });

  it("another invoice's payment leaves this invoice's reminder running; its own ends it", () => {
    const step = startJourney('payment-reminder', overdue, 'ji-5', rs, T0);
    const paid = (id: string, object: { type: string; id: string }) =>
      advance(
        step.instance,
        { kind: 'event', event: { id, type: 'invoice.paid', occurredAt: new Date(min(5)).toISOString(), object } },
        min(5),
        rs,
      );
    const other = paid('p-other', { type: 'invoice', id: 'inv-10' });
    expect(other.instance).toBe(step.instance);
    expect(other.commands).toEqual([]);
    const own = paid('p-own', { type: 'invoice', id: 'inv-9' });
    expect(own.instance.status).toBe('exited');
    expect(own.instance.goal?.reachedAt).toBe(new Date(min(5)).toISOString());
  });

  it('an event about another kind of object, or about none, still concerns the contact’s instance', () => {
    const booked = {
      id: 'b-1',
      type: 'appointment.booked',
      contactId: 'c-1',
      object: { type: 'appointment', id: 'ap-1' },
      occurredAt: new Date(T0).toISOString(),
      data: { startsAt: new Date(min(5 * 1440)).toISOString() },
    };
    const step = startJourney('appointment-reminder', booked, 'ji-6', rs, T0);
    // a reply names no object: it answers the wait
    const reply = advance(
      step.instance,
      { kind: 'event', event: { id: 'r-1', type: 'reply.confirm', occurredAt: new Date(min(5)).toISOString() } },
      min(5),
      rs,
    );
    expect(sends(reply.commands)).toEqual(['appointment_confirmed']);
    // a cancellation of another appointment does not end this one; of this one, it does
    const cancel = (id: string, object: { type: string; id: string }) =>
      advance(
        step.instance,
        { kind: 'event', event: { id, type: 'appointment.cancelled', occurredAt: new Date(min(6)).toISOString(), object } },
        min(6),
        rs,
      );
    expect(cancel('c-1', { type: 'appointment', id: 'ap-2' }).commands).toEqual([]);
    expect(cancel('c-2', { type: 'appointment', id: 'ap-1' }).instance.status).toBe('exited');
    // the same id on another kind of object is another object: a contact-wide exit event still applies
    expect(cancel('c-3', { type: 'ticket', id: 'ap-2' }).instance.status).toBe('exited');
  });
});

describe('appointment reminder: confirm / reschedule replies', () => {
  const booked = {
    id: 'ev-a',
    type: 'appointment.booked',
    contactId: 'c-2',
    object: { type: 'appointment', id: 'ap-1' },
    occurredAt: new Date(T0).toISOString(),
    data: { startsAt: new Date(min(5 * 1440)).toISOString() },
  };
  it('confirm → thanks, then a reminder the day before', () => {
    let step = startJourney('appointment-reminder', booked, 'ja-1', rs, T0);
    expect(sends(step.commands)).toEqual(['appointment_confirm_request']);
    const timeout = step.instance.waiting?.timerId as string;
    step = advance(
      step.instance,
      { kind: 'event', event: { id: 'r1', type: 'reply.confirm', occurredAt: new Date(min(30)).toISOString() } },
      min(30),
      rs,
    );
    expect(step.commands[0]).toMatchObject({ type: 'cancel', timerIds: [timeout], messages: 'none' });
    expect(sends(step.commands)).toEqual(['appointment_confirmed']);
    expect(schedule(step.commands)?.dueAt).toBe(new Date(min(4 * 1440)).toISOString());
    step = fireTimer(step.instance, min(4 * 1440));
    expect(sends(step.commands)).toEqual(['appointment_reminder']);
    expect(step.instance.outcome).toBe('reminded');
  });
  it('reschedule → the reschedule link, and the journey ends', () => {
    let step = startJourney('appointment-reminder', booked, 'ja-2', rs, T0);
    step = advance(
      step.instance,
      { kind: 'event', event: { id: 'r2', type: 'reply.reschedule', occurredAt: new Date(min(10)).toISOString() } },
      min(10),
      rs,
    );
    expect(sends(step.commands)).toEqual(['appointment_reschedule_link']);
    expect(step.instance.outcome).toBe('reschedule-offered');
  });
  it('no reply within a day → straight to the day-before reminder', () => {
    let step = startJourney('appointment-reminder', booked, 'ja-3', rs, T0);
    step = fireTimer(step.instance, min(1440));
    expect(sends(step.commands)).toEqual([]);
    expect(schedule(step.commands)?.dueAt).toBe(new Date(min(4 * 1440)).toISOString());
  });
  it('an appointment too soon for the day-before wait sends the reminder at once', () => {
    const soon = { ...booked, id: 'ev-b', data: { startsAt: new Date(min(600)).toISOString() } };
    let step = startJourney('appointment-reminder', soon, 'ja-4', rs, T0);
    step = fireTimer(step.instance, min(1440));
    expect(sends(step.commands)).toEqual(['appointment_reminder']);
  });
});

describe('other default journeys', () => {
  it('cart abandonment branches on the cart value and stops on an order', () => {
    const ev = (value: number, id: string) => ({
      id,
      type: 'cart.abandoned',
      contactId: 'c-3',
      occurredAt: new Date(T0).toISOString(),
      data: { cartValue: value },
    });
    let big = startJourney('cart-abandonment', ev(250, 'cb'), 'jc-1', rs, T0);
    expect(sends(big.commands)).toEqual([]);
    big = fireTimer(big.instance, min(60));
    expect(sends(big.commands)).toEqual(['cart_reminder']);
    big = fireTimer(big.instance, min(60 + 1440));
    expect(sends(big.commands)).toEqual(['cart_incentive']);
    let small = startJourney('cart-abandonment', ev(20, 'cs'), 'jc-2', rs, T0);
    small = fireTimer(small.instance, min(60));
    small = fireTimer(small.instance, min(60 + 1440));
    expect(sends(small.commands)).toEqual([]);
    expect(small.instance.outcome).toBe('not-recovered');
    let bought = startJourney('cart-abandonment', ev(250, 'cc'), 'jc-3', rs, T0);
    bought = advance(
      bought.instance,
      { kind: 'event', event: { id: 'o1', type: 'order.placed', occurredAt: new Date(min(30)).toISOString() } },
      min(30),
      rs,
    );
    expect(bought.instance.outcome).toBe('goal');
  });
  it('onboarding, renewal, post-purchase, post-contact survey and dispatch all start and send', () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['onboarding', 'contact.created', {}],
      ['renewal', 'subscription.renewal_due', {}],
      ['post-purchase', 'order.placed', {}],
      ['post-contact-survey', 'call.completed', { topic: 'billing' }],
      ['field-agent-dispatch', 'dispatch.assigned', {}],
    ];
    for (const [id, type, data] of cases) {
      const step = startJourney(
        id,
        { id: `e-${id}`, type, contactId: 'c-4', object: { type: 'thing', id: '1' }, occurredAt: new Date(T0).toISOString(), data },
        `j-${id}`,
        rs,
        T0,
      );
      expect(step.instance.status).toBe('active');
      expect(step.commands.some((c) => c.type === 'schedule')).toBe(true);
    }
    // the survey asks about the call's own topic
    let survey = startJourney(
      'post-contact-survey',
      { id: 's1', type: 'call.completed', contactId: 'c-5', occurredAt: new Date(T0).toISOString(), data: { topic: 'billing' } },
      'js',
      rs,
      T0,
    );
    survey = fireTimer(survey.instance, min(60));
    const cmd = survey.commands[0];
    expect(cmd?.type === 'send' && cmd.request.topic).toBe('billing');
  });
  it('dispatch: en route moves on; completion is the goal', () => {
    let step = startJourney(
      'field-agent-dispatch',
      { id: 'd1', type: 'dispatch.assigned', contactId: 'c-6', object: { type: 'job', id: 'j1' }, occurredAt: new Date(T0).toISOString() },
      'jd',
      rs,
      T0,
    );
    step = advance(
      step.instance,
      { kind: 'event', event: { id: 'd2', type: 'dispatch.en_route', occurredAt: new Date(min(60)).toISOString() } },
      min(60),
      rs,
    );
    expect(sends(step.commands)).toEqual(['dispatch_en_route']);
    step = advance(
      step.instance,
      { kind: 'event', event: { id: 'd3', type: 'dispatch.completed', occurredAt: new Date(min(120)).toISOString() } },
      min(120),
      rs,
    );
    expect(step.instance.outcome).toBe('goal');
  });
});

describe('bad journey input', () => {
  it('names the problem', () => {
    expect(() => startJourney('nope', overdue, 'x', rs, T0)).toThrow(JourneyStateError);
    expect(() => startJourney('payment-reminder', { ...overdue, object: undefined }, 'x', rs, T0)).toThrow(EngineInputError);
    expect(() => startJourney('payment-reminder', { ...overdue, type: 'ticket.opened' }, 'x', rs, T0)).toThrow(/does not trigger/);
    expect(() => startJourney('payment-reminder', overdue, 'x', rs, 'not a time')).toThrow(EngineInputError);
  });
});
