/**
 * Every durable timer, by what it is for. Keys are unique: scheduling the same timer twice is a
 * no-op, which is what makes every follow-up idempotent.
 */
export type TimerFor =
  /** Send step `step` of a message (a first step, a fallback, a follow-up, an approved review). */
  | { kind: 'step'; messageId: string; step: number }
  /** Send step `step` again at `at`, where the send gate deferred it (quiet hours, a cap). */
  | { kind: 'step-retry'; messageId: string; step: number; at: number }
  /** No receipt for step `step` by then: its fallback fires. */
  | { kind: 'timeout'; messageId: string; step: number }
  /** A journey instance's wait. */
  | { kind: 'journey'; instanceId: string; timerId: string };

/** The timer kinds as stored (a deferred step is a step timer). */
export type TimerKind = 'step' | 'timeout' | 'journey';

export function timerKey(t: TimerFor): string {
  switch (t.kind) {
    case 'step':
      return `${t.messageId}:step:${t.step}`;
    case 'step-retry':
      return `${t.messageId}:step:${t.step}:at:${t.at}`;
    case 'timeout':
      return `${t.messageId}:timeout:${t.step}`;
    case 'journey':
      return `journey:${t.timerId}`;
  }
}

/** What the stored timer row says: its kind, what it refers to (cancelled together), its payload. */
export function timerRow(t: TimerFor): { key: string; kind: TimerKind; ref: string; payload: TimerPayload } {
  const key = timerKey(t);
  if (t.kind === 'journey') return { key, kind: 'journey', ref: t.instanceId, payload: { instanceId: t.instanceId, timerId: t.timerId } };
  return { key, kind: t.kind === 'timeout' ? 'timeout' : 'step', ref: t.messageId, payload: { messageId: t.messageId, step: t.step } };
}

export type TimerPayload = { messageId: string; step: number } | { instanceId: string; timerId: string };
