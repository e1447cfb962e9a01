import type { CompiledRuleset } from '@signalbox/engine';
import type { DecisionState } from '../contacts/decision-reads.js';

/**
 * What a unit of work read ahead, in one statement each, for the events it is about to apply (the
 * per-run state of one unit, passed in as json-rules-engine hands a new Almanac to every run):
 * whether a journey an event starts was exited already, and the decision state of the event's
 * contact for the first message the journey sends. Read only for events that are their contact's
 * only one in the unit, that no running journey reacts to, after the unit recorded them: nothing the
 * unit does before their turn writes what was read (other events' work is about other contacts).
 * Each contact's state is taken once: after a message is decided for it, the next reads afresh.
 * Made under one ruleset, and used only under it.
 */
export class ReadAhead {
  constructor(
    readonly ruleset: CompiledRuleset,
    /** `exitKey(event, journey)` of the starts an exit event came before. */
    private readonly exited: ReadonlySet<string>,
    /** Which starts were asked about (the others are asked when their turn comes). */
    private readonly asked: ReadonlySet<string>,
    private readonly states: Map<string, DecisionState>,
  ) {}

  /** Whether the journey's start by this event is exited already; undefined when not read ahead. */
  exitedAlready(eventId: string, journeyId: string): boolean | undefined {
    const key = exitKey(eventId, journeyId);
    return this.asked.has(key) ? this.exited.has(key) : undefined;
  }

  /** The contact's decision state as read ahead, once (undefined after, or when not read). */
  takeState(contactId: string): DecisionState | undefined {
    const s = this.states.get(contactId);
    this.states.delete(contactId);
    return s;
  }
}

export const exitKey = (eventId: string, journeyId: string): string => `${journeyId}\u0000${eventId}`;
