import type { PlanStep } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { MessageRepository } from '../messages/message-repository.js';
import type { TimerFor } from '../timers/timer-key.js';
import type { TimerRepository } from '../timers/timer-repository.js';
import type { AttemptRepository } from './attempt-repository.js';
import { ATTEMPT_FAILED, ATTEMPT_WENT } from './attempt-status.js';
import { claimKey } from './claim-key.js';

export interface FollowUpStore {
  messages: MessageRepository;
  attempts: AttemptRepository;
  timers: TimerRepository;
}

/**
 * What follows a plan step: after it went, its follow-up steps and its delivery timeout; after it
 * failed (or timed out, or may not be used), its fallback, once. Every follow-up is a timer under
 * a unique key, so running any of this again after a crash changes nothing.
 */
export class FollowUps {
  constructor(private readonly clock: Clock) {}

  /** Follow-ups and the delivery timeout of a step that went; the caller may pass the message's plan. */
  async afterSent(store: FollowUpStore, messageId: string, stepIndex: number, sentAt: number, known?: readonly PlanStep[]): Promise<void> {
    await this.afterSentMany(store, [{ messageId, step: stepIndex, sentAt, plan: known }]);
  }

  /** `afterSent` for several steps that went together: their timers scheduled in one go. */
  async afterSentMany(
    store: FollowUpStore,
    went: ReadonlyArray<{ messageId: string; step: number; sentAt: number; plan?: readonly PlanStep[] | undefined }>,
  ): Promise<void> {
    const timers: Array<{ t: TimerFor; dueAt: number }> = [];
    for (const w of went) {
      let plan = w.plan;
      if (plan === undefined) {
        const message = await store.messages.get(w.messageId);
        if (message === null) continue;
        plan = message.decision.plan;
      }
      timers.push(...followUpTimers({ ...w, plan }));
    }
    await store.timers.scheduleMany(timers, this.clock.now().getTime());
  }

  /**
   * The step failed, was undelivered, timed out, or may not be used: its fallback fires, or, with
   * none left and nothing gone, the message has failed. The fallback is scheduled before the step's
   * timeout is cancelled: this may run from that very timer, and a crash in between must leave
   * something that will still fire.
   */
  async afterFailed(store: FollowUpStore, messageId: string, stepIndex: number): Promise<void> {
    const now = this.clock.now().getTime();
    const message = await store.messages.get(messageId);
    if (message === null) return;
    const next = message.decision.plan.find((s) => s.mode === 'fallback' && s.after === stepIndex);
    if (next !== undefined) {
      // schedule instead of calling: the step timer is the unit of durable, claimed work
      await store.timers.schedule({ kind: 'step', messageId, step: next.step }, now, now);
    } else {
      const attempts = await store.attempts.forMessage(messageId);
      if (!attempts.some((a) => ATTEMPT_WENT.includes(a.status)))
        await store.messages.transition(messageId, ['queued', 'sent'], 'failed', now);
    }
    await store.timers.cancel([{ kind: 'timeout', messageId, step: stepIndex }], now);
  }

  /** No receipt within the step's timeout: the attempt has expired and its fallback fires. */
  async timedOut(store: FollowUpStore, messageId: string, stepIndex: number): Promise<void> {
    const claim = claimKey(messageId, stepIndex);
    const a = await store.attempts.byClaim(claim);
    if (a === null) return;
    if (a.status === 'sent') await store.attempts.update(claim, { status: 'expired' }, this.clock.now().getTime(), ['sent']);
    // resumable: a crash after marking it expired still leads to the fallback
    const now = await store.attempts.byClaim(claim);
    if (now !== null && ATTEMPT_FAILED.includes(now.status)) await this.afterFailed(store, messageId, stepIndex);
  }
}

/**
 * The timers that follow a step that went, worked out from its message's plan: its follow-up
 * steps (`also`, after their delay) and, when a fallback waits on it, its delivery timeout.
 * None: nothing follows it but its receipts.
 */
export function followUpTimers(w: { messageId: string; step: number; sentAt: number; plan: readonly PlanStep[] }): Array<{
  t: TimerFor;
  dueAt: number;
}> {
  const out: Array<{ t: TimerFor; dueAt: number }> = [];
  const step = w.plan[w.step] as PlanStep;
  for (const s of w.plan)
    if (s.mode === 'also' && s.after === w.step)
      out.push({ t: { kind: 'step', messageId: w.messageId, step: s.step }, dueAt: w.sentAt + s.delayMinutes * 60_000 });
  const next = w.plan.find((s) => s.mode === 'fallback' && s.after === w.step);
  if (next !== undefined && step.timeoutMinutes !== null)
    out.push({ t: { kind: 'timeout', messageId: w.messageId, step: w.step }, dueAt: w.sentAt + step.timeoutMinutes * 60_000 });
  return out;
}
