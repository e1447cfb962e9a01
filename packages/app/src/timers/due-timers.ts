import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { TimerKind } from './timer-key.js';
import type { TimerRepository, TimerRow } from './timer-repository.js';

/**
 * How each kind of timer fires. A handler calls `complete` with the timers of the transaction its
 * effect commits in (so the effect and the timer's end commit together), or after its effect when
 * that is a provider call (never inside a transaction). It returns what `complete` returned.
 */
export type TimerHandler = (t: TimerRow, complete: (timers: TimerRepository) => Promise<boolean>) => Promise<boolean>;

/** A timer that fails is tried again after this long. */
const RETRY_MS = 30_000;

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Claims due timers and fires them, each once (a crashed worker's claims expire and are retaken). */
export class DueTimers {
  constructor(
    private readonly d: {
      timers: TimerRepository;
      handlers: Record<TimerKind, TimerHandler>;
      /** Whose claims these are, and how long they last. */
      lease: { ms: number; owner: string };
      clock: Clock;
      log: Logger;
      /** Each timer fired: its kind, and how late it fired. */
      onFired?: (kind: TimerKind, lateMs: number) => void;
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** Claims and fires due timers; returns how many fired. `look: false` when the caller has just seen one due. */
  async run(limit = 100, look = true): Promise<number> {
    const claimedAt = this.now();
    const due = await this.d.timers.claimDue(this.d.lease.owner, claimedAt, this.d.lease.ms, limit, look);
    let fired = 0;
    for (const [i, t] of due.entries()) {
      // timers fired one after another can take longer than their claims last (provider calls
      // that take seconds each): once half the lease is gone, the rest are given back, due as they
      // were, rather than fired on a claim another instance may take meanwhile (a second send)
      if (this.now() - claimedAt >= this.d.lease.ms / 2) {
        const rest = due.slice(i);
        await this.d.timers.giveBack(
          rest.map((r) => r.id),
          this.d.lease.owner,
        );
        this.d.log.warn(
          { fired: i, givenBack: rest.length, leaseMs: this.d.lease.ms },
          'due timers took longer than half their claims: the rest given back for the next run',
        );
        break;
      }
      await yieldToIo();
      if (await this.fire(t)) fired++;
    }
    return fired;
  }

  /** Fires a claimed timer; on failure, releases it for 30 s. */
  private async fire(t: TimerRow): Promise<boolean> {
    try {
      const done = await this.d.handlers[t.kind](t, (timers) => timers.complete(t.id, this.d.lease.owner, this.now()));
      if (done) this.d.onFired?.(t.kind, this.now() - t.dueAt);
      return done;
    } catch (err) {
      this.d.log.error({ err: (err as Error).message, timer: t.kind }, 'timer failed; retrying in 30 s');
      await this.d.timers.release(t.id, this.d.lease.owner, this.now() + RETRY_MS);
      return false;
    }
  }

  /** Gives back the claims `owner` held before it restarted (`'*'`: all), to be fired now. */
  releaseClaimsOf(owner: string): Promise<number> {
    return this.d.timers.releaseClaimsOf(owner);
  }
}
