/**
 * API keys guessed wrong per client address (a console sign-in or an API request with a key that
 * is not valid), in a sliding window: after `max` failures within `windowMs`, every key from that
 * address is refused (even a good one: it could be the lucky guess) until the oldest failure leaves
 * the window. A good key does not forget the failures before it (one valid key of low rank would
 * otherwise reset the count between guesses at others). Kept in memory per instance (each instance counts its own), bounded: when
 * `maxClients` addresses are tracked, the one seen longest ago is forgotten.
 */
export class KeyGuesses {
  private readonly failures = new Map<string, number[]>();
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly o: { max: number; windowMs: number; maxClients: number } = { max: 5, windowMs: 5 * 60_000, maxClients: 10_000 },
  ) {}

  /** Milliseconds until `client` may try again (0: it may now). */
  retryAfter(client: string, now: number): number {
    const list = this.recent(client, now);
    if (list.length < this.o.max) return 0;
    return (list[list.length - this.o.max] as number) + this.o.windowMs - now;
  }

  failed(client: string, now: number): void {
    const list = this.recent(client, now);
    list.push(now);
    this.lastFailure = Math.max(this.lastFailure, now);
    // most recently seen last: the first key is the one to forget when full
    this.failures.delete(client);
    this.failures.set(client, list.slice(-this.o.max));
    if (this.failures.size > this.o.maxClients) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** Whether any address has failed within the window (nothing to look up otherwise: the ingest fast path's shortcut). */
  tracking(now: number): boolean {
    return this.lastFailure > now - this.o.windowMs;
  }

  private recent(client: string, now: number): number[] {
    const list = (this.failures.get(client) ?? []).filter((t) => t > now - this.o.windowMs);
    if (list.length === 0) this.failures.delete(client);
    return list;
  }
}
