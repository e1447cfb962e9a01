/**
 * How fast one org may be called, from what Salesforce tells us. Every REST answer carries
 * `Sforce-Limit-Info: api-usage=used/limit` (the rolling 24-hour allocation): below `slowDownAt`
 * (80 %) calls go at the base pace; above it the requests still allowed are spread over the window,
 * so a busy org slows down instead of running into REQUEST_LIMIT_EXCEEDED. That error pauses the
 * org with a doubling back-off (the allocation is rolling: retrying tightly only burns it).
 */
export interface PacerOptions {
  /** Milliseconds between calls at the normal pace. */
  baseMinTimeMs?: number;
  /** Share of the daily allocation from which we slow down. */
  slowDownAt?: number;
  /** Salesforce's allocation window (24 h); tests shorten it. */
  windowMs?: number;
  /** Back-off after REQUEST_LIMIT_EXCEEDED: first pause, longest pause, retries before giving up. */
  backoff?: { initialMs?: number; maxMs?: number; maxRetries?: number };
}

export interface ApiUsage {
  used: number;
  limit: number;
}

export class LimitPacer {
  usage: ApiUsage | null = null;
  pausedUntil = 0;
  requestLimitExceeded = 0;
  private nextBackoff: number;
  readonly base: number;
  readonly slowDownAt: number;
  readonly windowMs: number;
  readonly initialBackoff: number;
  readonly maxBackoff: number;
  readonly maxRetries: number;

  constructor(o: PacerOptions = {}) {
    this.base = o.baseMinTimeMs ?? 0;
    this.slowDownAt = o.slowDownAt ?? 0.8;
    this.windowMs = o.windowMs ?? 24 * 3600_000;
    this.initialBackoff = o.backoff?.initialMs ?? 30_000;
    this.maxBackoff = o.backoff?.maxMs ?? 15 * 60_000;
    this.maxRetries = o.backoff?.maxRetries ?? 3;
    this.nextBackoff = this.initialBackoff;
  }

  /** Milliseconds to leave between two calls, given the last usage seen. */
  minTime(): number {
    const u = this.usage;
    if (u === null || u.limit <= 0 || u.used / u.limit < this.slowDownAt) return this.base;
    return Math.max(this.base, Math.ceil(this.windowMs / Math.max(1, u.limit - u.used)));
  }

  observe(usage: ApiUsage | undefined): void {
    if (usage !== undefined && Number.isFinite(usage.used) && Number.isFinite(usage.limit)) this.usage = { ...usage };
  }

  succeeded(): void {
    this.nextBackoff = this.initialBackoff;
  }

  /** REQUEST_LIMIT_EXCEEDED: pause the org; the pause doubles while it keeps happening. */
  limitExceeded(nowMs: number): number {
    this.requestLimitExceeded++;
    this.pausedUntil = Math.max(this.pausedUntil, nowMs + this.nextBackoff);
    this.nextBackoff = Math.min(this.nextBackoff * 2, this.maxBackoff);
    return this.pausedUntil;
  }
}
