/**
 * Failed console sign-ins per client address, in a sliding window: after `max` failures within
 * `windowMs`, every sign-in from that address is refused (even with a good key) until the oldest
 * failure leaves the window. Kept in memory per instance (each instance counts its own), bounded:
 * when `maxClients` addresses are tracked, the one seen longest ago is forgotten.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

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
    // most recently seen last: the first key is the one to forget when full
    this.failures.delete(client);
    this.failures.set(client, list.slice(-this.o.max));
    if (this.failures.size > this.o.maxClients) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** A good sign-in forgets the address's failures. */
  succeeded(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string, now: number): number[] {
    const list = (this.failures.get(client) ?? []).filter((t) => t > now - this.o.windowMs);
    if (list.length === 0) this.failures.delete(client);
    return list;
  }
}
