import Bottleneck from 'bottleneck';

/**
 * Per-sender throughput, as providers publish it (Twilio: messages per second per sender, counted
 * in SMS segments): one Bottleneck per sender whose reservoir refills every second, each job
 * weighing its segments. Senders do not wait for each other, nor providers for one another.
 */
export class SenderLimits {
  private readonly limiters = new Map<string, Bottleneck>();

  constructor(private readonly o: { perSecond: number; maxConcurrent?: number }) {}

  schedule<T>(sender: string, weight: number, fn: () => Promise<T>): Promise<T> {
    let l = this.limiters.get(sender);
    if (l === undefined) {
      l = new Bottleneck({
        maxConcurrent: this.o.maxConcurrent ?? 50,
        reservoir: this.o.perSecond,
        reservoirRefreshAmount: this.o.perSecond,
        reservoirRefreshInterval: 1000,
        // the refill is checked on this beat and the next second counted from it: at Bottleneck's
        // default 250 ms each second ran up to a quarter late (measured 1.16× the bound)
        heartbeatInterval: 20,
      });
      this.limiters.set(sender, l);
    }
    // a job heavier than a second's budget would never run: it takes a whole second
    return l.schedule({ weight: Math.max(1, Math.min(weight, this.o.perSecond)) }, fn);
  }

  /** What is left of a sender's budget for the current second (null: it has not sent yet). */
  async remaining(sender: string): Promise<number | null> {
    return (await this.limiters.get(sender)?.currentReservoir()) ?? null;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.limiters.values()].map((l) => l.stop({ dropWaitingJobs: false })));
  }
}
