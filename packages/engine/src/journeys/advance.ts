import { EngineInputError, JourneyStateError } from '../errors.js';
import type { CrmEvent, ObjectRef } from '../model/event.js';
import type { JourneyCommand, JourneyInput, JourneyInstance } from '../model/journey.js';
import { MAX_VARIABLE_NAME, MAX_VARIABLE_TEXT, MAX_VARIABLES, type MessageRequest } from '../model/message.js';
import { DEFAULT_PURPOSE } from '../model/vocabulary.js';
import { type Instant, toEpoch } from '../pipeline/decide.js';
import { resolvePath, splitPath } from '../rules/path.js';
import type { CompiledRuleset } from '../ruleset/compile.js';
import type { JourneyDefinition } from '../ruleset/schema.js';

const MIN = 60_000;
const DAY = 86_400_000;
const SEEN_LIMIT = 200;

export interface JourneyStep {
  instance: JourneyInstance;
  commands: JourneyCommand[];
}

function journeyOf(rs: CompiledRuleset, id: string): JourneyDefinition {
  const j = rs.source.journeys.find((x) => x.id === id);
  if (j === undefined) throw new JourneyStateError(`journey "${id}" is not in ruleset ${rs.version}`, '/journeyId');
  return j;
}

/** The instance key an event gives a journey: the contact, or the CRM object it is about. */
export function instanceKey(journey: JourneyDefinition, event: Pick<TriggerEvent, 'contactId' | 'object'>): string | null {
  if (journey.key === 'object') return event.object ? `object:${event.object.type}:${event.object.id}` : null;
  return event.contactId !== undefined ? `contact:${event.contactId}` : null;
}

/** Journeys this event starts (trigger event and trigger conditions). */
export function journeysTriggeredBy(rs: CompiledRuleset, event: Pick<TriggerEvent, 'type' | 'data'>): JourneyDefinition[] {
  const ids = rs.journeyTriggers.get(event.type) ?? [];
  return ids
    .map((id) => journeyOf(rs, id))
    .filter((j) => {
      const test = rs.compiledJourneyConditions.get(`${j.id}#trigger`);
      return (
        test === undefined ||
        test({ data: event.data ?? {}, event: { type: event.type, data: event.data ?? {} }, journey: { id: j.id, stepsDone: 0, sends: 0 } })
      );
    });
}

/** Starts an instance for a triggering event and runs it to its first wait. */
export type TriggerEvent = Pick<CrmEvent, 'id' | 'type' | 'occurredAt'> & {
  contactId?: string | undefined;
  object?: ObjectRef | undefined;
  data?: Record<string, unknown> | undefined;
};

export function startJourney(journeyId: string, event: TriggerEvent, instanceId: string, rs: CompiledRuleset, now: Instant): JourneyStep {
  const j = journeyOf(rs, journeyId);
  const at = toEpoch(now);
  if (event.contactId === undefined)
    throw new EngineInputError('journey trigger', [{ path: '/event/contactId', message: 'a journey needs the contact' }]);
  const key = instanceKey(j, event);
  if (key === null)
    throw new EngineInputError('journey trigger', [
      { path: '/event/object', message: `journey ${j.id} is keyed by object; the event has none` },
    ]);
  if (event.type !== j.trigger.event) {
    throw new JourneyStateError(`event ${event.type} does not trigger journey ${j.id} (${j.trigger.event} does)`, '/event/type');
  }
  const iso = new Date(at).toISOString();
  const instance: JourneyInstance = {
    id: instanceId,
    journeyId: j.id,
    rulesetVersion: rs.version,
    key,
    contactId: event.contactId,
    object: event.object ?? null,
    status: 'active',
    outcome: null,
    cursor: 0,
    waiting: null,
    data: { ...(event.data ?? {}) },
    events: { [event.type]: { ...(event.data ?? {}) } },
    lastEvent: { type: event.type, data: { ...(event.data ?? {}) } },
    goal: j.goal ? { event: j.goal.event, deadline: new Date(at + j.goal.withinDays * DAY).toISOString(), reachedAt: null } : null,
    sends: 0,
    stepsDone: 0,
    seenEventIds: [event.id],
    startedAt: iso,
    updatedAt: iso,
    endedAt: null,
  };
  const commands: JourneyCommand[] = [];
  const next = run(j, instance, 0, at, rs, commands);
  return { instance: next, commands };
}

/**
 * Moves an instance on by one input (an event or a due timer). Pure: the new instance and the
 * commands for the runtime (send, schedule, cancel, complete). Inputs that do not concern the
 * instance (a stale timer, a repeated event, anything after the end) change nothing.
 */
export function advance(instance: JourneyInstance, input: JourneyInput, now: Instant, rs: CompiledRuleset): JourneyStep {
  const at = toEpoch(now);
  if (instance.status !== 'active') return { instance, commands: [] };
  const j = journeyOf(rs, instance.journeyId);
  const commands: JourneyCommand[] = [];
  const iso = new Date(at).toISOString();

  if (input.kind === 'timer') {
    const w = instance.waiting;
    if (w === null || w.timerId !== input.timerId) return { instance, commands: [] };
    const step = j.steps[instance.cursor];
    let target = instance.cursor + 1;
    if (step?.type === 'waitFor' && step.onTimeout !== undefined) target = indexOf(j, step.onTimeout);
    const moved = { ...instance, waiting: null, stepsDone: instance.stepsDone + 1, updatedAt: iso };
    return { instance: run(j, moved, target, at, rs, commands), commands };
  }

  const ev = input.event;
  if (instance.seenEventIds.includes(ev.id)) return { instance, commands: [] };
  if (aboutAnotherObject(instance, ev.object)) return { instance, commands: [] };
  // events that neither end the journey, reach its goal, nor answer its current wait change nothing
  if (!eventMatters(j, instance, ev.type)) return { instance, commands: [] };
  const data = { ...(ev.data ?? {}) };
  let inst: JourneyInstance = {
    ...instance,
    events: { ...instance.events, [ev.type]: data },
    lastEvent: { type: ev.type, data },
    seenEventIds: [...instance.seenEventIds, ev.id].slice(-SEEN_LIMIT),
    updatedAt: iso,
  };
  if (inst.goal && inst.goal.reachedAt === null && ev.type === inst.goal.event && at <= Date.parse(inst.goal.deadline)) {
    inst = { ...inst, goal: { ...inst.goal, reachedAt: iso } };
  }
  if (j.exitOn.includes(ev.type)) {
    const goalReached = inst.goal?.reachedAt != null;
    commands.push({
      type: 'cancel',
      timerIds: inst.waiting ? [inst.waiting.timerId] : [],
      messages: 'all-unsent',
      reason: `journey ${j.id} exited on ${ev.type}`,
    });
    const outcome = goalReached ? 'goal' : `exited:${ev.type}`;
    commands.push({ type: 'complete', outcome, goalReached });
    return { instance: { ...inst, status: 'exited', outcome, waiting: null, endedAt: iso }, commands };
  }
  const w = inst.waiting;
  const step = j.steps[inst.cursor];
  if (w !== null && step?.type === 'waitFor' && w.events.includes(ev.type)) {
    // only the timeout goes: messages of earlier steps stand
    commands.push({ type: 'cancel', timerIds: [w.timerId], messages: 'none', reason: `${ev.type} arrived` });
    const to = step.on[ev.type];
    const target = to !== undefined ? indexOf(j, to) : inst.cursor + 1;
    inst = { ...inst, waiting: null, stepsDone: inst.stepsDone + 1 };
    return { instance: run(j, inst, target, at, rs, commands), commands };
  }
  return { instance: inst, commands };
}

/**
 * Whether an event is about another object of the kind an instance keyed by object follows: invoice
 * B's payment neither ends nor reaches the goal of invoice A's reminder, though both are the
 * contact's. Events about no object (a reply) or another kind of object (a complaint's ticket)
 * still concern the contact's instances.
 */
function aboutAnotherObject(instance: JourneyInstance, object: ObjectRef | undefined): boolean {
  const own = instance.object;
  return instance.key.startsWith('object:') && own !== null && object !== undefined && object.type === own.type && object.id !== own.id;
}

/** Whether an event type can change an instance: exit, goal, or what it is waiting for. */
function eventMatters(j: JourneyDefinition, instance: JourneyInstance, type: string): boolean {
  return j.exitOn.includes(type) || j.goal?.event === type || (instance.waiting?.events.includes(type) ?? false);
}

/** Event types a journey ever reacts to once started (the runtime skips instances for others). */
export function eventsOfInterest(j: JourneyDefinition): ReadonlySet<string> {
  const out = new Set<string>([...j.exitOn, ...(j.goal ? [j.goal.event] : [])]);
  for (const s of j.steps) if (s.type === 'waitFor') for (const e of s.events) out.add(e);
  return out;
}

function indexOf(j: JourneyDefinition, stepId: string): number {
  const k = j.steps.findIndex((s) => s.id === stepId);
  if (k < 0) throw new JourneyStateError(`step ${stepId} is not in journey ${j.id}`);
  return k;
}

function messageFor(
  j: JourneyDefinition,
  inst: JourneyInstance,
  stepId: string,
  templateName: string,
  rs: CompiledRuleset,
): MessageRequest {
  const t = rs.source.templates[templateName];
  if (t === undefined) throw new JourneyStateError(`template ${templateName} is not in ruleset ${rs.version}`);
  // the trigger's data as the template's variables, within what a request may give (templateVariablesSchema):
  // a CRM's 200,000-character description must not become a 1,300-segment SMS
  const variables: Record<string, string | number | boolean> = {};
  let count = 0;
  for (const [k, v] of Object.entries(inst.data)) {
    if (count >= MAX_VARIABLES) break;
    if (k.length > MAX_VARIABLE_NAME) continue;
    if (typeof v === 'string') variables[k] = v.length > MAX_VARIABLE_TEXT ? v.slice(0, MAX_VARIABLE_TEXT) : v;
    else if (typeof v === 'number' || typeof v === 'boolean') variables[k] = v;
    else continue;
    count++;
  }
  const req: MessageRequest = {
    idempotencyKey: `journey:${inst.id}:${stepId}`,
    type: t.messageType,
    purpose: t.purpose ?? DEFAULT_PURPOSE[t.messageType],
    workflow: `journey:${j.id}`,
    template: templateName,
    variables,
    priority: t.priority ?? 'normal',
    rich: t.rich,
    journeyId: j.id,
  };
  if (t.category !== undefined) req.category = t.category;
  // a survey asks about what the triggering contact was about, unless the template fixes a topic
  const topic = t.topic ?? (typeof inst.data.topic === 'string' ? inst.data.topic : undefined);
  if (topic !== undefined) req.topic = topic;
  if (inst.object) req.object = inst.object;
  return req;
}

function run(
  j: JourneyDefinition,
  start: JourneyInstance,
  from: number,
  at: number,
  rs: CompiledRuleset,
  commands: JourneyCommand[],
): JourneyInstance {
  let inst = { ...start };
  let k = from;
  for (let guard = 0; guard < 10_000; guard++) {
    const step = j.steps[k];
    if (step === undefined) return complete(inst, 'finished', at, commands);
    inst.cursor = k;
    switch (step.type) {
      case 'send':
        // it replaces what earlier steps decided and has not gone (cancelled before this one is made)
        if (step.cancelUnsent === true)
          commands.push({ type: 'cancel', timerIds: [], messages: 'all-unsent', reason: `replaced by step ${step.id} of journey ${j.id}` });
        commands.push({ type: 'send', stepId: step.id, request: messageFor(j, inst, step.id, step.template, rs) });
        inst = { ...inst, sends: inst.sends + 1, stepsDone: inst.stepsDone + 1 };
        k++;
        break;
      case 'wait':
        return wait(inst, step.id, at + step.minutes * MIN, [], commands);
      case 'waitUntil': {
        const raw = resolvePath(inst.data, splitPath(step.field));
        const base = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
        const due = base + step.offsetMinutes * MIN;
        if (!Number.isFinite(due) || due <= at) {
          // nothing to wait for (missing or past time): move on at once
          inst = { ...inst, stepsDone: inst.stepsDone + 1 };
          k++;
          break;
        }
        return wait(inst, step.id, due, [], commands);
      }
      case 'waitFor':
        return wait(inst, step.id, at + step.timeoutMinutes * MIN, step.events, commands);
      case 'branch': {
        const test = rs.compiledJourneyConditions.get(`${j.id}#${step.id}`);
        const facts = {
          data: inst.data,
          event: inst.lastEvent ?? { type: '', data: {} },
          journey: { id: j.id, stepsDone: inst.stepsDone, sends: inst.sends },
        };
        inst = { ...inst, stepsDone: inst.stepsDone + 1 };
        k = indexOf(j, test?.(facts) ? step.then : step.else);
        break;
      }
      case 'end':
        return complete(inst, step.outcome, at, commands);
    }
  }
  throw new JourneyStateError(`journey ${j.id} did not reach a wait within 10,000 steps`);
}

function wait(inst: JourneyInstance, stepId: string, dueAt: number, events: string[], commands: JourneyCommand[]): JourneyInstance {
  const timerId = `${inst.id}:${stepId}:${inst.stepsDone}`;
  const due = new Date(dueAt).toISOString();
  commands.push({ type: 'schedule', stepId, timerId, dueAt: due });
  return { ...inst, waiting: { stepId, timerId, dueAt: due, events } };
}

function complete(inst: JourneyInstance, outcome: string, at: number, commands: JourneyCommand[]): JourneyInstance {
  const goalReached = inst.goal?.reachedAt != null;
  const final = goalReached ? 'goal' : outcome;
  commands.push({ type: 'complete', outcome: final, goalReached });
  return { ...inst, status: 'completed', outcome: final, waiting: null, endedAt: new Date(at).toISOString() };
}
