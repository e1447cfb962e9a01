import type { InboxMetrics } from '../inbox/inbox-processor.js';
import type { TimerKind } from '../timers/timer-key.js';

/** What the runtime reports as it works (counted by `runtimeMetrics`; each thread has its own). */
export interface RuntimeMetrics extends InboxMetrics {
  timerFired(kind: TimerKind, lateMs: number): void;
  round(worked: boolean): void;
  decided(type: string, outcome: string): void;
  providerCall(provider: string, channel: string, outcome: 'accepted' | 'failed' | 'error', seconds: number): void;
}
