import type { SmsSegments } from '../content/rendered.js';
import type { ContentVariant, MessageType, Purpose, Stage } from './vocabulary.js';

export type Outcome = 'send' | 'defer' | 'suppress' | 'review';

export type ReasonCode =
  | 'rule_fired'
  | 'rule_shadowed'
  | 'no_consent'
  | 'no_address'
  | 'not_capable'
  | 'outside_market'
  | 'session_window'
  | 'preference'
  | 'cost'
  | 'cap'
  | 'cap_exceeded'
  | 'quiet_hours'
  | 'quiet_hours_bypassed'
  | 'best_hour'
  | 'suppressed'
  | 'review'
  | 'no_mapping'
  | 'no_reachable_channel'
  | 'timezone_assumed'
  | 'content_adapted'
  | 'ordered_by_cost'
  | 'segments'
  | 'excluded'
  | 'preferred'
  | 'deferred';

export interface Reason {
  stage: Stage;
  code: ReasonCode;
  /** The rule behind it, when a rule is. */
  rule?: string;
  /** The effect applied, when a rule fired. */
  effect?: string;
  channel?: string;
  message: string;
}

export interface PlanStep {
  step: number;
  channel: string;
  provider: string;
  /**
   * primary: the first try; fallback: runs only when the step named by `after` fails or is not
   * delivered within its timeout; also: runs whatever the outcome of `after` (a follow-up).
   */
  mode: 'primary' | 'fallback' | 'also';
  after: number | null;
  /** Earliest send time (ISO). For fallbacks, the earliest; the runtime fires them on failure/timeout. */
  sendAt: string;
  /** Minutes to wait for delivery before the next fallback step fires; null when nothing follows. */
  timeoutMinutes: number | null;
  /** For `also` steps: minutes after the step it follows. */
  delayMinutes: number;
  content: ContentVariant;
  /** SMS steps whose rendered text was known: its encoding and parts (the cost is per part). */
  segments?: SmsSegments;
  estimatedCost: number;
}

export interface Decision {
  outcome: Outcome;
  messageType: MessageType;
  purpose: Purpose;
  contactId: string;
  rulesetVersion: string;
  decidedAt: string;
  /** When the first step goes; null when nothing will be sent. */
  sendAt: string | null;
  plan: PlanStep[];
  /** Cost of the primary step (and `also` steps), in the price table's currency. */
  estimatedCost: number;
  currency: string;
  reasons: Reason[];
}
