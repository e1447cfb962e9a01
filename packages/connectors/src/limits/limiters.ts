import type Bottleneck from 'bottleneck';

/** At most `max` requests per `intervalMs`. */
export interface Rate {
  max: number;
  intervalMs: number;
}

/**
 * A rolling window of request arrivals: a request starts once `acquire` resolves and calls the
 * function it resolved with when its answer is in (or it failed). No `intervalMs` of arrivals ever
 * holds more than `limit.max`, whatever the latency (see ArrivalWindow). `limit` may change at any time.
 */
export interface RequestWindow {
  limit: Rate;
  acquire(): Promise<() => void>;
}

/**
 * Where every outbound limit comes from (a HubSpot portal's, a Salesforce org's, a provider
 * sender's). Each limited resource has an id (`hubspot:portal:62515`); every limiter and window
 * asked for under one id shares one limit with its peers — the process's own on the embedded
 * profile, every instance on one Redis in production. The first settings given for an id are
 * the limiter's; `updateSettings` changes them for all peers.
 */
export interface Limiters {
  /** Whether peers in other processes share these limits (a Redis datastore). */
  readonly shared: boolean;
  limiter(id: string, settings: LimiterSettings, jobs?: JobOptions): Bottleneck;
  window(id: string, limit: Rate): RequestWindow;
  /** Stops what the limiters hold open (Redis connections); limiters given out stop working. */
  close(): Promise<void>;
}

/** How the limiter's jobs behave. */
export interface JobOptions {
  /**
   * The longest one job can run (it may wait inside, as a Salesforce call waits out a pause). On a
   * shared datastore a job running longer is failed and its slot given back: that is how the slots
   * of an instance that died come back. Default 2 minutes.
   */
  expirationMs?: number;
}

/** What a limiter is paced by (Bottleneck's own settings, without its datastore and id). */
export type LimiterSettings = Pick<
  Bottleneck.ConstructorOptions,
  'maxConcurrent' | 'minTime' | 'reservoir' | 'reservoirRefreshAmount' | 'reservoirRefreshInterval'
>;

/**
 * Changes a limiter's settings (for every peer, on a shared datastore). Bottleneck's typings say
 * `updateSettings` returns the limiter; it returns a promise, which rejects when Redis is away:
 * the limiter keeps its settings then, and the next change tries again.
 */
export function retune(limiter: Bottleneck, settings: LimiterSettings): Promise<void> {
  return Promise.resolve(limiter.updateSettings(settings)).then(
    () => undefined,
    () => undefined,
  );
}
