import type { Limiters } from '@signalbox/connectors';
import Bottleneck from 'bottleneck';

interface SenderLimiter {
  limiter: Bottleneck;
  timer: NodeJS.Timeout | null;
}

/**
 * Per-sender throughput, as providers publish it (Twilio: messages per second per sender, counted
 * in SMS segments): one Bottleneck per sender whose reservoir is filled again every second, each job
 * weighing its segments. Senders do not wait for each other, nor providers for one another.
 *
 * The refill runs on a fixed schedule (start + k seconds): Bottleneck's own refresh counts each
 * second from the moment its heartbeat noticed the last one, so every late beat (its default beat
 * is 250 ms; more on a busy machine) pushed all later seconds back (measured 1.16–1.3× the bound).
 */
export class SenderLimits {
  private readonly senders = new Map<string, SenderLimiter>();

  constructor(
    private readonly o: {
      perSecond: number;
      maxConcurrent?: number;
      /**
       * Limits every instance shares (a Redis datastore), under `id:<sender>`: the sender's
       * reservoir lives in the datastore, so its rate holds across all instances (each job weighing
       * its segments, as here). Without it (or when the limiters are this process's own) the
       * sender's budget is this process's.
       */
      shared?: { limiters: Limiters; id: string };
    },
  ) {}

  private limiterFor(sender: string): Bottleneck {
    const known = this.senders.get(sender);
    if (known !== undefined) return known.limiter;
    const shared = this.o.shared;
    if (shared?.limiters.shared) {
      // one reservoir for every instance, refilled by the datastore each second (Bottleneck's clustering)
      const limiter = shared.limiters.limiter(`${shared.id}:${sender}`, {
        maxConcurrent: this.o.maxConcurrent ?? 50,
        reservoir: this.o.perSecond,
        reservoirRefreshAmount: this.o.perSecond,
        reservoirRefreshInterval: 1000,
      });
      this.senders.set(sender, { limiter, timer: null });
      return limiter;
    }
    const s: SenderLimiter = {
      limiter: new Bottleneck({ maxConcurrent: this.o.maxConcurrent ?? 50, reservoir: this.o.perSecond }),
      timer: null,
    };
    const start = performance.now();
    let k = 0;
    const tick = () => {
      k++;
      void s.limiter.updateSettings({ reservoir: this.o.perSecond });
      s.timer = setTimeout(tick, Math.max(0, start + (k + 1) * 1000 - performance.now()));
      s.timer.unref();
    };
    s.timer = setTimeout(tick, 1000);
    s.timer.unref();
    this.senders.set(sender, s);
    return s.limiter;
  }

  schedule<T>(sender: string, weight: number, fn: () => Promise<T>): Promise<T> {
    // a job heavier than a second's budget would never run: it takes a whole second
    return this.limiterFor(sender).schedule({ weight: Math.max(1, Math.min(weight, this.o.perSecond)) }, fn);
  }

  /** What is left of a sender's budget for the current second (null: it has not sent yet). */
  async remaining(sender: string): Promise<number | null> {
    return (await this.senders.get(sender)?.limiter.currentReservoir()) ?? null;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.senders.values()].map((s) => {
        if (s.timer !== null) clearTimeout(s.timer);
        return s.limiter.stop({ dropWaitingJobs: false });
      }),
    );
  }
}
