import type { CompiledRuleset, JourneyCommand, JourneyInstance } from '@signalbox/engine';
import type { DecisionState } from '../contacts/decision-reads.js';
import type { ClaimedSend } from '../delivery/unit.js';

/** A journey an event starts, its instance created ahead (`created` false: another of its key was active). */
export interface StartedAhead {
  instance: JourneyInstance;
  commands: readonly JourneyCommand[];
  created: boolean;
  /** Its first message was decided and recorded ahead too (its first command sends). */
  sentFirst: boolean;
  /** That message's first step, claimed ahead: its provider call continues the event's trace once the event's turn comes. */
  send?: ClaimedSend | undefined;
}

/**
 * What a unit of work did ahead, in one statement each, for the events it is about to apply (the
 * per-run state of one unit, passed in as json-rules-engine hands a new Almanac to every run):
 * whether a journey an event starts was exited already, the instances of those it starts, and the
 * decision state of the event's contact for the first message they send. Done only for events
 * that are their contact's only one in the unit, that no running journey reacts to, after the
 * unit recorded them: nothing the unit does before their turn reads what was created or writes
 * what was read (other events' work is about other contacts and their own journeys). Each
 * contact's state is taken once: after a message is decided for it, the next reads afresh. Made
 * under one ruleset, and used only under it.
 */
export class ReadAhead {
  constructor(
    readonly ruleset: CompiledRuleset,
    /** `startKey(event, journey)` of the starts an exit event came before. */
    private readonly exited: ReadonlySet<string>,
    /** Which starts were asked about (the others are asked when their turn comes). */
    private readonly asked: ReadonlySet<string>,
    /** The starts whose instance was created (or found taken) ahead, by `startKey`. */
    private readonly starts: ReadonlyMap<string, StartedAhead>,
    private readonly states: Map<string, DecisionState>,
  ) {}

  /** Whether the journey's start by this event is exited already; undefined when not read ahead. */
  exitedAlready(eventId: string, journeyId: string): boolean | undefined {
    const key = startKey(eventId, journeyId);
    return this.asked.has(key) ? this.exited.has(key) : undefined;
  }

  /** The journey's start by this event, made ahead; undefined when it was not (it is made at its turn). */
  started(eventId: string, journeyId: string): StartedAhead | undefined {
    return this.starts.get(startKey(eventId, journeyId));
  }

  /** The contact's decision state as read ahead, once (undefined after, or when not read). */
  takeState(contactId: string): DecisionState | undefined {
    const s = this.states.get(contactId);
    this.states.delete(contactId);
    return s;
  }
}

export const startKey = (eventId: string, journeyId: string): string => `${journeyId}\u0000${eventId}`;
