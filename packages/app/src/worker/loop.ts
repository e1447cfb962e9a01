import type { Logger } from '../logger.js';
import type { WorkerHandle } from './handle.js';

/**
 * The worker's loop: runs rounds of work (the inbox, due timers, stalled sends, CRM chores) back
 * to back while there is work, and waits `idleMs` (or a nudge) when a round found nothing. Stops
 * cleanly. Several workers may run against one store.
 */
export class Worker implements WorkerHandle {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** A nudge that came while a round was running: the round may have looked before the work landed. */
  private nudged = false;
  /** Between a round that found nothing to do and the next round. */
  private idle = false;
  /** Who waits for `quiet()`. */
  private quietWaiters: Array<() => void> = [];

  constructor(
    /** One round of work; how much it did (0: nothing to do). */
    private readonly round: () => Promise<number>,
    private readonly log: Logger,
    private readonly idleMs = 50,
    /** What a starting worker does first (take back the claims its instance held before it stopped). */
    private readonly onStart?: () => Promise<unknown>,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const first = this.onStart?.().catch((err: unknown) =>
      this.log.error({ err: (err as Error).message }, 'taking back old claims failed'),
    );
    this.loop = (first ?? Promise.resolve()).then(() => this.run());
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Resolves once the worker has nothing to do (at once if it is idle or not running), or after
   * `ms` at the latest: lower-priority work (receipts) waits for a gap between events, but never
   * longer than that.
   */
  quiet(ms: number): Promise<void> {
    if (this.idle || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.quietWaiters.push(done);
    });
  }

  private wakeQuietWaiters(): void {
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const w of waiters) w();
  }

  /** New work arrived: skip the idle wait. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let n = 0;
      this.nudged = false;
      this.idle = false;
      try {
        n = await this.round();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'worker round failed');
      }
      // better-sqlite3 answers synchronously, so a busy round never leaves the microtask queue:
      // let the thread's messages in (hot writes, nudges, stop) before the next one
      if (n > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      else this.wakeQuietWaiters();
      if (n === 0 && this.running && !this.nudged) {
        this.idle = true;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.idleMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.wakeQuietWaiters();
    await this.loop;
  }
}
