import type { ObjectRef } from './event.js';
import type { MessageRequest } from './message.js';

export interface JourneyWait {
  stepId: string;
  timerId: string;
  dueAt: string;
  /** For waitFor steps: the events that move the journey on before the timer. */
  events: string[];
}

export interface JourneyInstance {
  id: string;
  journeyId: string;
  rulesetVersion: string;
  /** One instance per key: `contact:<id>` or `object:<type>:<id>`. */
  key: string;
  contactId: string;
  object: ObjectRef | null;
  status: 'active' | 'completed' | 'exited';
  /** finished | goal | exited:<event> | an end step's outcome. */
  outcome: string | null;
  /** Index of the step the instance is at. */
  cursor: number;
  waiting: JourneyWait | null;
  /** The trigger event's data. */
  data: Record<string, unknown>;
  /** The latest data of each event type received. */
  events: Record<string, Record<string, unknown>>;
  lastEvent: { type: string; data: Record<string, unknown> } | null;
  goal: { event: string; deadline: string; reachedAt: string | null } | null;
  sends: number;
  stepsDone: number;
  /** Ids of events already applied (bounded), so redelivery changes nothing. */
  seenEventIds: string[];
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
}

export type JourneyCommand =
  | { type: 'send'; stepId: string; request: MessageRequest }
  | { type: 'schedule'; stepId: string; timerId: string; dueAt: string }
  | {
      type: 'cancel';
      /** Timers of the instance still pending. */
      timerIds: string[];
      /** all-unsent: unsent messages of the instance (pending fallbacks included) are cancelled too. */
      messages: 'all-unsent' | 'none';
      reason: string;
    }
  | { type: 'complete'; outcome: string; goalReached: boolean };

export type JourneyInput =
  | {
      kind: 'event';
      /** `object`: what the event is about (an instance keyed on another object of its type ignores it). */
      event: { id: string; type: string; occurredAt: string; data?: Record<string, unknown>; object?: ObjectRef | undefined };
    }
  | { kind: 'timer'; timerId: string };
