import type { Context } from '@opentelemetry/api';
import type { OutboundMessage, PlanStep } from '@signalbox/engine';
import type { SentContent } from './attempt-repository.js';

/** A plan step claimed for sending: which provider, and what it is asked to send. */
export interface Go {
  provider: string;
  outbound: OutboundMessage;
  /** The rendered content and its language, recorded on the attempt (absent: the template has none). */
  content?: SentContent;
}

/** A send claimed inside a unit of work, to be made as soon as the unit commits. */
export interface ClaimedSend {
  messageId: string;
  step: number;
  /** The message's plan, at hand from its decision (a plan never changes once decided). */
  plan: readonly PlanStep[];
  go: Go;
  /** The trace of the event that claimed it, continued by the provider call (tracing on). */
  trace?: Context | undefined;
}

/**
 * One unit of work, passed to every service that takes part in it (as json-rules-engine hands a
 * new Almanac to every run): the store bound to the unit's one transaction, and the sends the unit
 * claimed to make right after its commit. `sends` is null where the unit does not send on commit
 * (then a send due now goes through a timer and the full send gate).
 */
export interface Unit<S> {
  readonly store: S;
  readonly sends: ClaimedSend[] | null;
  /**
   * What the unit tells others (metrics) once it has committed: a unit rolled back tells nothing,
   * and a part of it taken back (a savepoint) takes back what it had to tell. See `tell`.
   */
  readonly told: Array<() => void>;
}

/** Tells `fn` once the unit has committed. */
export function tell(u: Pick<Unit<unknown>, 'told'>, fn: () => void): void {
  u.told.push(fn);
}

/** Runs what a committed unit had to tell. */
export function toldAfterCommit(told: ReadonlyArray<() => void>): void {
  for (const fn of told) fn();
}
