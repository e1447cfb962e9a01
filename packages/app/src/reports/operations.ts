import type { ReportAttempt, ReportJourney, ReportMessage } from './report-repository.js';

const WENT = new Set(['sent', 'delivered', 'read']);
const DELIVERED = new Set(['delivered', 'read']);
const round = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;
const rate = (a: number, b: number) => (b === 0 ? null : round(a / b, 4));
const per = (cost: number, n: number) => (n === 0 ? null : round(cost / n));

/** What happened to an attempt that did not get through (a fallback may have taken over). */
const FAILED = new Set(['failed', 'undelivered', 'expired']);

/**
 * Delivery and read rates per channel and market, counted per attempt: a WhatsApp that was not
 * delivered counts against WhatsApp, and its SMS fallback for SMS (each with its own cost), not
 * the whole message for the channel that finally carried it.
 */
export function ratesReport(attempts: readonly ReportAttempt[]) {
  const m = new Map<
    string,
    { channel: string; market: string; went: number; delivered: number; read: number; failed: number; cost: number }
  >();
  for (const x of attempts) {
    if (!WENT.has(x.status) && !FAILED.has(x.status)) continue;
    const key = `${x.channel}|${x.market ?? '(none)'}`;
    const r = m.get(key) ?? { channel: x.channel, market: x.market ?? '(none)', went: 0, delivered: 0, read: 0, failed: 0, cost: 0 };
    if (WENT.has(x.status)) r.went++;
    if (DELIVERED.has(x.status)) r.delivered++;
    if (x.status === 'read') r.read++;
    if (FAILED.has(x.status)) r.failed++;
    r.cost += x.cost;
    m.set(key, r);
  }
  return [...m.values()]
    .map((r) => ({ ...r, cost: round(r.cost), deliveryRate: rate(r.delivered, r.went + r.failed), readRate: rate(r.read, r.went) }))
    .sort((a, b) => (a.channel + a.market < b.channel + b.market ? -1 : 1));
}

/**
 * Cost per outcome: per message delivered, per message read, per journey goal reached (totals per
 * message); by channel, what each channel's attempts cost and got through.
 */
export function costReport(messages: readonly ReportMessage[], journeys: readonly ReportJourney[], attempts: readonly ReportAttempt[]) {
  const cost = messages.reduce((s, x) => s + x.cost, 0);
  const delivered = messages.filter((x) => DELIVERED.has(x.status)).length;
  const read = messages.filter((x) => x.status === 'read').length;
  const goals = journeys.filter((j) => j.goalReached).length;
  const journeyCost = messages.filter((x) => x.journeyInstanceId !== null).reduce((s, x) => s + x.cost, 0);
  const byChannel = new Map<string, { channel: string; cost: number; delivered: number; read: number }>();
  for (const x of attempts) {
    if (!WENT.has(x.status) && !FAILED.has(x.status)) continue;
    const r = byChannel.get(x.channel) ?? { channel: x.channel, cost: 0, delivered: 0, read: 0 };
    r.cost += x.cost;
    if (DELIVERED.has(x.status)) r.delivered++;
    if (x.status === 'read') r.read++;
    byChannel.set(x.channel, r);
  }
  return {
    total: {
      cost: round(cost),
      delivered,
      read,
      goals,
      perDelivered: per(cost, delivered),
      perRead: per(cost, read),
      perGoal: per(journeyCost, goals),
    },
    byChannel: [...byChannel.values()].map((r) => ({
      ...r,
      cost: round(r.cost),
      perDelivered: per(r.cost, r.delivered),
      perRead: per(r.cost, r.read),
    })),
  };
}

/** Fallbacks taken (from the first step's channel to the one that took over), what they delivered and what they cost. */
export function fallbackReport(attempts: readonly ReportAttempt[]) {
  const byMessage = new Map<string, ReportAttempt[]>();
  for (const a of attempts) byMessage.set(a.messageId, [...(byMessage.get(a.messageId) ?? []), a]);
  const m = new Map<
    string,
    { from: string; to: string; taken: number; deliveredAfter: number; extraCost: number; firstStepCost: number }
  >();
  for (const list of byMessage.values()) {
    list.sort((a, b) => a.step - b.step);
    const first = list[0];
    if (first === undefined) continue;
    for (const a of list.slice(1)) {
      const key = `${first.channel}→${a.channel}`;
      const r = m.get(key) ?? { from: first.channel, to: a.channel, taken: 0, deliveredAfter: 0, extraCost: 0, firstStepCost: 0 };
      r.taken++;
      if (DELIVERED.has(a.status)) r.deliveredAfter++;
      r.extraCost += a.cost;
      r.firstStepCost += first.cost;
      m.set(key, r);
    }
  }
  // "saved": a message the fallback got through, that the first channel alone would have lost
  return [...m.values()].map((r) => ({
    ...r,
    extraCost: round(r.extraCost),
    firstStepCost: round(r.firstStepCost),
    rescued: r.deliveredAfter,
    costPerRescue: per(r.extraCost, r.deliveredAfter),
  }));
}

/** Journey outcomes against their goal; appointment replies split into confirmed, rescheduled, no answer. */
export function journeyReport(journeys: readonly ReportJourney[]) {
  const m = new Map<
    string,
    {
      journeyId: string;
      started: number;
      active: number;
      completed: number;
      exited: number;
      goalReached: number;
      outcomes: Record<string, number>;
      replies?: Record<string, number>;
    }
  >();
  for (const j of journeys) {
    const r = m.get(j.journeyId) ?? {
      journeyId: j.journeyId,
      started: 0,
      active: 0,
      completed: 0,
      exited: 0,
      goalReached: 0,
      outcomes: {},
    };
    r.started++;
    if (j.status === 'active') r.active++;
    else if (j.status === 'completed') r.completed++;
    else r.exited++;
    if (j.goalReached) r.goalReached++;
    // its own count (an outcome named `constructor` is not Object.prototype's)
    if (j.outcome !== null) r.outcomes[j.outcome] = (Object.hasOwn(r.outcomes, j.outcome) ? (r.outcomes[j.outcome] as number) : 0) + 1;
    if (j.journeyId.startsWith('appointment')) {
      const replies = r.replies ?? { confirmed: 0, rescheduled: 0, noAnswer: 0 };
      if (j.events.some((e) => e === 'reply.confirm' || e === 'appointment.confirmed')) replies.confirmed = (replies.confirmed ?? 0) + 1;
      else if (j.events.some((e) => e === 'reply.reschedule' || e === 'appointment.reschedule_requested'))
        replies.rescheduled = (replies.rescheduled ?? 0) + 1;
      else replies.noAnswer = (replies.noAnswer ?? 0) + 1;
      r.replies = replies;
    }
    m.set(j.journeyId, r);
  }
  return [...m.values()]
    .map((r) => ({ ...r, goalShare: rate(r.goalReached, r.started) }))
    .sort((a, b) => (a.journeyId < b.journeyId ? -1 : 1));
}

/** Messages the shared contact-pressure budget held back (deferred or dropped by a cap), per team. */
export function pressureReport(messages: readonly ReportMessage[]) {
  const m = new Map<string, { team: string; requested: number; heldBack: number; deferred: number; dropped: number }>();
  for (const x of messages) {
    const team = x.team ?? '(none)';
    const r = m.get(team) ?? { team, requested: 0, heldBack: 0, deferred: 0, dropped: 0 };
    r.requested++;
    if (x.reasonCodes.includes('cap_exceeded')) {
      r.heldBack++;
      if (x.outcomes.includes('suppress') || x.status === 'suppressed') r.dropped++;
      else r.deferred++;
    }
    m.set(team, r);
  }
  return [...m.values()].sort((a, b) => b.heldBack - a.heldBack || (a.team < b.team ? -1 : 1));
}

/**
 * Rows as CSV (RFC 4180: quoted when needed), nested values as JSON. A text cell that a spreadsheet
 * would take for a formula (starting with = + - @, a tab or a carriage return: a team or template
 * name comes from callers) gets a leading `'` (OWASP's advice against CSV injection); numbers are
 * written as they are.
 */
export function toCsv(rows: ReadonlyArray<Record<string, unknown>>): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const s = typeof v !== 'number' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\r\n')}\r\n`;
}
