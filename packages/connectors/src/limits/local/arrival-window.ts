import { setTimeout as sleep } from 'node:timers/promises';
import type { Rate, RequestWindow } from '../limiters.js';

/**
 * HubSpot counts a request when it arrives; a client only knows when each request started and
 * when its answer came back. Spacing starts evenly is not enough: a slow request (the first on a
 * new connection, a stalled event loop) arrives late and lands in the same window as the ones
 * after it, and HubSpot answers 429. This window lets the (n + max)-th request start only
 * `intervalMs` after every request up to the n-th has completed, so no `intervalMs` of arrivals
 * ever holds more than `max`, whatever the latency. It runs on real time (HubSpot's windows are).
 */
export class ArrivalWindow implements RequestWindow {
  /** latest completion among the requests that have left the last `max` */
  private floor = Number.NEGATIVE_INFINITY;
  /** completion times of the last `max` requests, oldest first (pending while in flight) */
  private readonly recent: Array<Promise<number>> = [];
  /** acquisitions go one at a time, in order */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    public limit: Rate,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Waits until a request may start; call the returned function once its answer is in (or it failed). */
  acquire(): Promise<() => void> {
    let complete: (at: number) => void = () => undefined;
    const completed = new Promise<number>((resolve) => {
      complete = resolve;
    });
    const turn = this.queue.then(async () => {
      this.recent.push(completed);
      while (this.recent.length > this.limit.max) this.floor = Math.max(this.floor, await (this.recent.shift() as Promise<number>));
      const wait = this.floor + this.limit.intervalMs - this.clock();
      if (wait > 0) await sleep(wait);
    });
    this.queue = turn;
    return turn.then(() => () => complete(this.clock()));
  }
}
