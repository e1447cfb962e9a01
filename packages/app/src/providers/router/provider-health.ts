/**
 * Whether a provider is worth asking now: after a retryable failure (outage, 5xx, throttled past
 * its own retries) it rests, 1 s, then 2, 4 … up to a minute while it keeps failing; one success
 * clears it. Other providers are not held back meanwhile.
 */
export class ProviderHealth {
  private readonly state = new Map<string, { failures: number; downUntil: number }>();

  constructor(
    private readonly now: () => number,
    private readonly baseMs = 1_000,
    private readonly maxMs = 60_000,
  ) {}

  /** Until when the provider rests (null: ask it). */
  restingUntil(provider: string): number | null {
    const s = this.state.get(provider);
    return s !== undefined && s.downUntil > this.now() ? s.downUntil : null;
  }

  failed(provider: string): number {
    const failures = (this.state.get(provider)?.failures ?? 0) + 1;
    const downUntil = this.now() + Math.min(this.maxMs, this.baseMs * 2 ** (failures - 1));
    this.state.set(provider, { failures, downUntil });
    return downUntil;
  }

  succeeded(provider: string): void {
    this.state.delete(provider);
  }
}
