import {
  advance,
  type CompiledRuleset,
  eventsOfInterest,
  instanceKey,
  type JourneyCommand,
  type JourneyInput,
  type JourneyInstance,
  journeysTriggeredBy,
  startJourney,
} from '@signalbox/engine';
import type { Clock } from '../clock.js';
import { decisionBounds, eventReach } from '../contacts/context.js';
import type { DecisionState } from '../contacts/decision-reads.js';
import type { Unit } from '../delivery/unit.js';
import { uuidv7 } from '../ids.js';
import { MESSAGE_SETTLED, MESSAGE_UNSENT } from '../messages/status.js';
import type { DecidedMessage, MessageRequests, MessageStore } from '../requests/message-requests.js';
import { currentContext } from '../tracing/tracing.js';
import type { JourneyRepository } from './journey-repository.js';
import { ReadAhead, type StartedAhead, startKey } from './read-ahead.js';

export interface JourneyStore extends MessageStore {
  journeys: JourneyRepository;
}

/** An event as journeys see it: ours, about one contact (and perhaps a CRM object). */
export interface JourneyEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
  contactId: string;
  object?: { type: string; id: string } | undefined;
}

/** A unit met a ruleset other than the one it did its work ahead under: it is applied again, event by event. */
export class RulesetChanged extends Error {
  constructor() {
    super('the ruleset changed while the unit was applied: its events are applied again one by one');
  }
}

/** A journey and instance key: one active instance each. */
const slotOf = (journeyId: string, key: string): string => `${journeyId}\u0000${key}`;

/** Tries before an instance that keeps changing underneath is given up on (optimistic saves). */
const SAVE_TRIES = 5;

/**
 * Whether an event may move a journey instance of another contact than its own: one keyed on the
 * event's object (a deal, an invoice) whose journey reacts to events of its type.
 */
export function mayMoveOthers(rs: CompiledRuleset, event: { type: string; object?: { type: string; id: string } | undefined }): boolean {
  return event.object !== undefined && rs.source.journeys.some((j) => eventsOfInterest(j).has(event.type));
}

/**
 * Journeys are pure state machines (the engine's `advance`); this runs them on stored instances:
 * events start and move instances, their commands send, schedule, cancel and complete.
 */
export class Journeys {
  constructor(
    private readonly d: {
      ruleset: () => CompiledRuleset;
      requests: MessageRequests;
      clock: Clock;
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** See `mayMoveOthers`, with the ruleset in use. */
  mayMoveOthers(event: { type: string; object?: { type: string; id: string } | undefined }): boolean {
    return mayMoveOthers(this.d.ruleset(), event);
  }

  /**
   * Does ahead, in one statement each, what starting the journeys these events trigger takes (see
   * ReadAhead): the exit checks, the instances, the decision states of their contacts, and the
   * first messages of the instances. For events that are their contact's only one in the unit,
   * already recorded on it; events some journey reacts to are left to their turn (their running
   * instances move first, and may send or cancel), as is any start of a journey and key one of the
   * unit's `others` may start. Null where there is too little to do together.
   */
  async readAhead(u: Unit<JourneyStore>, events: readonly JourneyEvent[], others: readonly JourneyEvent[] = []): Promise<ReadAhead | null> {
    const rs = this.d.ruleset();
    const starting = events.flatMap((event) => {
      if (rs.source.journeys.some((j) => eventsOfInterest(j).has(event.type))) return [];
      const journeys = journeysTriggeredBy(rs, event).filter((j) => instanceKey(j, event) !== null);
      return journeys.length === 0 ? [] : [{ event, journeys }];
    });
    if (starting.length < 2) return null;
    const questions = starting.flatMap(({ event, journeys }) => {
      const since = Date.parse(event.occurredAt);
      return journeys.flatMap((j) =>
        j.exitOn.length === 0 || !Number.isFinite(since)
          ? []
          : [
              {
                key: startKey(event.id, j.id),
                contactId: event.contactId,
                types: j.exitOn,
                since,
                except: event.id,
                object: j.key === 'object' ? event.object : undefined,
              },
            ],
      );
    });
    const exited = await u.store.contactEvents.haveOfTypesSince(questions);
    // the instances of the starts that go on, created together (a second start of the same
    // journey and key in the unit is left to its turn, where it finds the first one active)
    const now = this.now();
    const starts = new Map<string, StartedAhead & { row: Parameters<JourneyRepository['createMany']>[0][number] }>();
    // what the unit's other events may start is theirs to start first, at their turn
    const taken = new Set(
      others.flatMap((e) =>
        journeysTriggeredBy(rs, e).flatMap((j) => {
          const key = instanceKey(j, e);
          return key === null ? [] : [slotOf(j.id, key)];
        }),
      ),
    );
    for (const { event, journeys } of starting)
      for (const j of journeys) {
        const key = instanceKey(j, event) as string;
        if (exited.has(startKey(event.id, j.id)) || taken.has(slotOf(j.id, key))) continue;
        taken.add(slotOf(j.id, key));
        const id = uuidv7(now);
        const { instance, commands } = startJourney(j.id, event, id, rs, now);
        starts.set(startKey(event.id, j.id), {
          instance,
          commands,
          created: false,
          sentFirst: false,
          row: { id, journeyId: j.id, key, contactId: event.contactId, state: instance },
        });
      }
    const created = await u.store.journeys.createMany(
      [...starts.values()].map((s) => s.row),
      now,
    );
    for (const s of starts.values()) s.created = created.has(s.row.id);
    // the states of the contacts whose journey started here (one that did not sends nothing)
    const reads = u.store.decisionReads;
    const b = decisionBounds(now, eventReach(rs));
    const states =
      reads?.available === true
        ? await reads.readMany(
            [...starts.values()].filter((s) => s.created).map((s) => s.row.contactId),
            b.statuses,
            b.pressureSince,
            b.eventsSince,
            b.lasting,
          )
        : new Map<string, DecisionState>();
    const ahead = new ReadAhead(rs, exited, new Set(questions.map((q) => q.key)), starts, states);
    // the first message of each instance started here (sent before anything is cancelled), decided
    // on its contact's state as read, and all of them recorded together; in the order the starts
    // come (an event's journeys in order), so a contact's later start is not decided ahead of
    // anything an earlier one sends or cancels at its turn
    const sending: Array<{ start: StartedAhead; decided: DecidedMessage }> = [];
    const atTurn = new Set<string>();
    for (const s of starts.values()) {
      const contact = s.row.contactId;
      const moves = s.commands.filter((c) => c.type === 'send' || c.type === 'cancel');
      if (moves.length === 0 && s.created) continue;
      const first = moves[0];
      const state = atTurn.has(contact) || !s.created || first?.type !== 'send' ? undefined : ahead.takeState(contact);
      if (first?.type !== 'send' || state === undefined) {
        atTurn.add(contact);
        continue;
      }
      const decided = await this.d.requests.decide(u, contact, first.request, { journeyInstanceId: s.instance.id, state });
      sending.push({ start: s, decided });
      if (moves.length > 1) atTurn.add(contact);
    }
    const recorded = await this.d.requests.recordMany(
      u,
      sending.map((x) => x.decided),
    );
    for (const [i, x] of sending.entries()) {
      x.start.sentFirst = true;
      x.start.send = recorded[i]?.send;
    }
    return ahead;
  }

  /**
   * Moves the contact's (and the object's) running instances that react to the event, then starts
   * the journeys it triggers. `ahead`: what the unit read ahead for it (see `readAhead`).
   */
  async onEvent(u: Unit<JourneyStore>, event: JourneyEvent, ahead?: ReadAhead | null): Promise<void> {
    const rs = this.d.ruleset();
    // what was done ahead was done under the ruleset of then: a unit that meets another (a publish
    // meanwhile) is applied again, one event after the other, under the new one
    if (ahead !== undefined && ahead !== null && ahead.ruleset !== rs) throw new RulesetChanged();
    const read = ahead ?? undefined;
    // only when some journey reacts to this type at all: most events only start journeys
    const interested = new Set(rs.source.journeys.filter((j) => eventsOfInterest(j).has(event.type)).map((j) => j.id));
    const running =
      interested.size === 0
        ? []
        : [
            ...(await u.store.journeys.active({ contactId: event.contactId })),
            ...(event.object ? await u.store.journeys.active({ key: `object:${event.object.type}:${event.object.id}` }) : []),
          ];
    const seen = new Set<string>();
    for (const inst of running) {
      if (seen.has(inst.id)) continue;
      seen.add(inst.id);
      if (!interested.has(inst.journeyId)) continue;
      await this.advance(u, inst.id, { kind: 'event', event });
    }
    for (const j of journeysTriggeredBy(rs, event)) {
      const key = instanceKey(j, event);
      if (key === null) continue;
      // an exit that happened at or after this trigger, delivered before it (an invoice's payment
      // before its overdue notice): the journey is over before it starts
      if (read?.exitedAlready(event.id, j.id) ?? (await this.exitedAlready(u, j.exitOn, j.key === 'object', event))) continue;
      const ahead = read?.started(event.id, j.id);
      if (ahead?.created === true) {
        // its instance was created ahead, perhaps its first message recorded too (no running
        // instance moved: the contact's state is as read); the provider call of a message claimed
        // ahead goes on from this event's span, as it would have
        if (ahead.send !== undefined) ahead.send.trace = currentContext();
        await this.execute(
          u,
          ahead.instance,
          ahead.commands,
          ahead.sentFirst ? { sentFirst: true } : { state: read?.takeState(event.contactId) },
        );
        continue;
      }
      // not created ahead (its key was taken then; an earlier event may have freed it since): as one by one
      const id = uuidv7(this.now());
      const { instance, commands } = startJourney(j.id, event, id, rs, this.now());
      // one active instance per key
      if (!(await u.store.journeys.create({ id, journeyId: j.id, key, contactId: event.contactId, state: instance }, this.now()))) continue;
      // no running instance moved (read ahead only then): the contact's state is as read
      await this.execute(u, instance, commands, running.length === 0 ? { state: read?.takeState(event.contactId) } : undefined);
    }
  }

  /** Whether one of the contact's recorded events at or after the trigger's time exits the journey (about the same object, where the journey follows one). */
  private async exitedAlready(u: Unit<JourneyStore>, exitOn: readonly string[], byObject: boolean, event: JourneyEvent): Promise<boolean> {
    const at = Date.parse(event.occurredAt);
    if (exitOn.length === 0 || !Number.isFinite(at)) return false;
    return u.store.contactEvents.hasOfTypesSince(event.contactId, exitOn, at, event.id, byObject ? event.object : undefined);
  }

  /** Advances a stored instance with optimistic concurrency; commands run before the save (all idempotent). */
  async advance(u: Unit<JourneyStore>, instanceId: string, input: JourneyInput): Promise<void> {
    for (let tries = 0; tries < SAVE_TRIES; tries++) {
      const stored = await u.store.journeys.get(instanceId);
      if (stored === null || stored.status !== 'active') return;
      const { instance, commands } = advance(stored.state, input, this.now(), this.d.ruleset());
      if (commands.length === 0 && instance === stored.state) return;
      await this.execute(u, instance, commands);
      if (await u.store.journeys.save(instanceId, stored.version, instance, this.now())) return;
    }
    throw new Error(`journey instance ${instanceId} kept changing underneath`);
  }

  /**
   * `ahead`: what the unit did ahead for a new instance: the contact's decision state read, for the
   * first message sent (unless something is cancelled first); or that first message recorded.
   */
  private async execute(
    u: Unit<JourneyStore>,
    instance: JourneyInstance,
    commands: readonly JourneyCommand[],
    ahead?: { state?: DecisionState | undefined; sentFirst?: boolean },
  ): Promise<void> {
    const now = this.now();
    let read = ahead?.state;
    let sentFirst = ahead?.sentFirst === true;
    // what these commands send is never what they cancel: a save retried (the instance moved
    // underneath) runs them again, and the message its first try made must not go as "unsent"
    const sending = new Set(
      commands.flatMap((c) => (c.type === 'send' && c.request.idempotencyKey !== undefined ? [c.request.idempotencyKey] : [])),
    );
    for (const c of commands) {
      switch (c.type) {
        case 'send':
          if (sentFirst) {
            // recorded with the unit's other first messages (see readAhead)
            sentFirst = false;
            break;
          }
          await this.d.requests.request(u, instance.contactId, c.request, {
            journeyInstanceId: instance.id,
            ...(read !== undefined ? { state: read } : {}),
          });
          read = undefined;
          break;
        case 'schedule':
          // written with the unit's other waits (before anything reads timers, or the unit commits)
          await u.store.timers.scheduleLater({ kind: 'journey', instanceId: instance.id, timerId: c.timerId }, Date.parse(c.dueAt), now);
          break;
        case 'cancel':
          read = undefined;
          await u.store.timers.cancel(
            c.timerIds.map((timerId) => ({ kind: 'journey', instanceId: instance.id, timerId })),
            now,
          );
          if (c.messages === 'all-unsent') {
            for (const m of await u.store.messages.forJourneyInstance(instance.id)) {
              if (m.idempotencyKey !== null && sending.has(m.idempotencyKey)) continue;
              // unsent messages go; a sent message's pending fallbacks go too
              if (MESSAGE_UNSENT.includes(m.status)) await this.d.requests.cancel(u, m.id, c.reason);
              else if (!MESSAGE_SETTLED.includes(m.status)) await u.store.timers.cancelFor(m.id, now);
            }
          }
          break;
        case 'complete':
          await u.store.audit.record(
            'journeys',
            'journey.complete',
            instance.id,
            { journeyId: instance.journeyId, outcome: c.outcome, goalReached: c.goalReached },
            now,
          );
          break;
      }
    }
  }
}
