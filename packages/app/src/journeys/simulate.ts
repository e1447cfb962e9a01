import {
  advance,
  type CompiledRuleset,
  type DecisionContext,
  decideParsed,
  instanceKey,
  type JourneyCommand,
  type JourneyInstance,
  JourneyStateError,
  type PastEvent,
  startJourney,
} from '@signalbox/engine';
import { InputError } from '../errors.js';

/** One scripted event: its type, when (ms), data and CRM object. */
export interface ScriptedEvent {
  type: string;
  at: number;
  data: Record<string, unknown>;
  object?: { type: string; id: string } | undefined;
}

export type TimelineEntry =
  | { at: string; kind: 'event'; type: string; effect: 'started' | 'advanced' | 'ignored' }
  | { at: string; kind: 'timer'; step: string; timerId: string }
  | {
      at: string;
      kind: 'send';
      step: string;
      template: string | null;
      messageType: string;
      outcome: string;
      channel: string | null;
      sendAt: string | null;
      deferred: boolean;
      plan: Array<{
        step: number;
        channel: string;
        mode: string;
        sendAt: string;
        timeoutMinutes: number | null;
        content: string;
        estimatedCost: number;
      }>;
      estimatedCost: number;
      reasons: Array<{ stage: string; code: string; rule?: string; channel?: string; message: string }>;
    }
  | { at: string; kind: 'wait'; step: string; until: string; for: string[] }
  | { at: string; kind: 'cancel'; reason: string; timers: number; unsent: string[] }
  | { at: string; kind: 'complete'; outcome: string; goalReached: boolean };

export interface Simulation {
  journeyId: string;
  rulesetVersion: string;
  timeline: TimelineEntry[];
  final: { status: JourneyInstance['status'] | 'not started'; outcome: string | null; goal: JourneyInstance['goal'] };
  sends: number;
  estimatedCost: number;
  /** The timeline reached MAX_TIMELINE entries and the simulation stopped there (a journey that loops). */
  truncated: boolean;
}

/** Entries a simulation's timeline holds at most: a looping journey stops there, not at 10,000 sends. */
export const MAX_TIMELINE = 2_000;

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A journey run on a simulated clock, before it exists: the engine's own `startJourney` and
 * `advance` (the runtime's state machine) driven by a script of events and the timers the journey
 * sets, every message decided with `decideParsed` (as the runtime decides) against the contact's
 * context, which grows with what the simulation sent and the events it saw. Nothing is stored or sent.
 */
export function simulateJourney(o: {
  ruleset: CompiledRuleset;
  journeyId: string;
  context: DecisionContext;
  events: readonly ScriptedEvent[];
  start: number;
  until: number;
}): Simulation {
  const rs = o.ruleset;
  const j = rs.source.journeys.find((x) => x.id === o.journeyId);
  if (j === undefined)
    throw new InputError(`journey ${o.journeyId} is not in ruleset ${rs.version}`, [
      { path: '/journeyId', message: 'no such journey in this ruleset' },
    ]);
  const ctx: DecisionContext = { ...o.context, history: [...o.context.history], events: [...o.context.events] };
  const contactId = ctx.contact.id;
  const timeline: TimelineEntry[] = [];
  const events = [...o.events].map((e, i) => ({ ...e, i })).sort((a, b) => a.at - b.at || a.i - b.i);
  let instance: JourneyInstance | null = null;
  /** Sends decided but not gone yet (deferred): cancelled by an exit. */
  const unsent: Array<{ step: string; sendAt: number }> = [];
  let sends = 0;
  let cost = 0;
  let n = 0;

  const run = (commands: readonly JourneyCommand[], at: number) => {
    for (const c of commands) {
      if (c.type === 'send') {
        const d = decideParsed(c.request, ctx, rs, at);
        const first = d.plan[0];
        const sendAt = d.sendAt === null ? null : Date.parse(d.sendAt);
        timeline.push({
          at: iso(at),
          kind: 'send',
          step: c.stepId,
          template: c.request.template ?? null,
          messageType: c.request.type,
          outcome: d.outcome,
          channel: d.outcome === 'suppress' ? null : (first?.channel ?? null),
          sendAt: d.sendAt,
          deferred: d.outcome === 'defer',
          plan: d.plan.map((p) => ({
            step: p.step,
            channel: p.channel,
            mode: p.mode,
            sendAt: p.sendAt,
            timeoutMinutes: p.timeoutMinutes,
            content: p.content,
            estimatedCost: p.estimatedCost,
          })),
          estimatedCost: d.estimatedCost,
          reasons: d.reasons.map((r) => ({
            stage: r.stage,
            code: r.code,
            ...(r.rule !== undefined ? { rule: r.rule } : {}),
            ...(r.channel !== undefined ? { channel: r.channel } : {}),
            message: r.message,
          })),
        });
        if (d.outcome === 'send' || d.outcome === 'defer') {
          sends++;
          cost += d.estimatedCost;
          // what went counts against the pressure budget of the next decision, as in the runtime
          const h: DecisionContext['history'][number] = { at: iso(sendAt ?? at), type: c.request.type };
          if (first?.channel !== undefined) h.channel = first.channel;
          ctx.history.push(h);
          if (sendAt !== null && sendAt > at) unsent.push({ step: c.stepId, sendAt });
        }
      } else if (c.type === 'schedule') {
        const w = instance?.waiting;
        timeline.push({ at: iso(at), kind: 'wait', step: c.stepId, until: c.dueAt, for: w?.timerId === c.timerId ? w.events : [] });
      } else if (c.type === 'cancel') {
        const gone = c.messages === 'all-unsent' ? unsent.filter((u) => u.sendAt > at).map((u) => u.step) : [];
        timeline.push({ at: iso(at), kind: 'cancel', reason: c.reason, timers: c.timerIds.length, unsent: gone });
      } else {
        timeline.push({ at: iso(at), kind: 'complete', outcome: c.outcome, goalReached: c.goalReached });
      }
    }
  };

  let k = 0;
  let truncated = false;
  for (let guard = 0; guard < 10_000; guard++) {
    if (timeline.length >= MAX_TIMELINE) {
      truncated = true;
      break;
    }
    const nextEvent = events[k];
    const timerDue =
      instance?.status === 'active' && instance.waiting !== null ? Date.parse(instance.waiting.dueAt) : Number.POSITIVE_INFINITY;
    const eventAt = nextEvent?.at ?? Number.POSITIVE_INFINITY;
    const at = Math.min(eventAt, timerDue);
    if (!Number.isFinite(at) || at > o.until) break;
    if (eventAt <= timerDue && nextEvent !== undefined) {
      k++;
      const past: PastEvent = { type: nextEvent.type, at: iso(at), data: nextEvent.data };
      if (nextEvent.object !== undefined) past.object = nextEvent.object;
      ctx.events.push(past);
      const ev = {
        id: `sim-${++n}`,
        type: nextEvent.type,
        occurredAt: iso(at),
        data: nextEvent.data,
        contactId,
        object: nextEvent.object ?? (j.key === 'object' ? { type: 'simulated', id: 'object-1' } : undefined),
      };
      if (instance === null) {
        if (ev.type !== j.trigger.event || instanceKey(j, ev) === null) {
          timeline.push({ at: iso(at), kind: 'event', type: ev.type, effect: 'ignored' });
          continue;
        }
        try {
          const step = startJourney(j.id, ev, 'simulated', rs, at);
          instance = step.instance;
          timeline.push({ at: iso(at), kind: 'event', type: ev.type, effect: 'started' });
          run(step.commands, at);
        } catch (e) {
          if (e instanceof JourneyStateError) {
            timeline.push({ at: iso(at), kind: 'event', type: ev.type, effect: 'ignored' });
            continue;
          }
          throw e;
        }
      } else {
        const step = advance(instance, { kind: 'event', event: ev }, at, rs);
        const moved = step.commands.length > 0 || step.instance !== instance;
        timeline.push({ at: iso(at), kind: 'event', type: ev.type, effect: moved ? 'advanced' : 'ignored' });
        instance = step.instance;
        run(step.commands, at);
      }
    } else if (instance?.waiting) {
      const w = instance.waiting;
      timeline.push({ at: iso(at), kind: 'timer', step: w.stepId, timerId: w.timerId });
      const step = advance(instance, { kind: 'timer', timerId: w.timerId }, at, rs);
      instance = step.instance;
      run(step.commands, at);
    }
  }
  if (truncated) {
    // what was cut off is not counted either: the figures are the timeline's
    timeline.length = MAX_TIMELINE;
    const shown = timeline.filter((e) => e.kind === 'send' && (e.outcome === 'send' || e.outcome === 'defer'));
    sends = shown.length;
    cost = shown.reduce((n, e) => n + (e.kind === 'send' ? e.estimatedCost : 0), 0);
  }
  return {
    journeyId: j.id,
    rulesetVersion: rs.version,
    timeline,
    final: { status: instance?.status ?? 'not started', outcome: instance?.outcome ?? null, goal: instance?.goal ?? null },
    sends,
    estimatedCost: Math.round(cost * 1e6) / 1e6,
    truncated,
  };
}

export const SIMULATION_DAYS = 60;
export const simulationEnd = (start: number, days?: number) => start + (days ?? SIMULATION_DAYS) * DAY;
