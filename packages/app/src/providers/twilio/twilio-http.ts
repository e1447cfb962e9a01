import twilio from 'twilio';

/**
 * Twilio's own HTTP client with every request sent to `base` instead of Twilio's hosts (the SDK
 * has no base-URL option; its `httpClient` hook is the supported way). 429s are retried here with
 * the SDK's full-jitter backoff: with a custom client the SDK's own `autoRetry` option is ignored.
 */
export class TwilioHttp extends twilio.RequestClient {
  constructor(
    private readonly base: string | undefined,
    o: { maxRetries: number; timeoutMs: number },
  ) {
    super({ autoRetry: o.maxRetries > 0, maxRetries: o.maxRetries, maxRetryDelay: 3000, timeout: o.timeoutMs, keepAlive: true });
  }

  override request<TData>(opts: Parameters<twilio.RequestClient['request']>[0]) {
    const base = this.base;
    if (base === undefined) return super.request<TData>(opts as never);
    return super.request<TData>({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, base.replace(/\/$/, '')) } as never);
  }
}
