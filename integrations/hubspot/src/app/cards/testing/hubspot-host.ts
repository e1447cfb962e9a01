/**
 * `hubspot.fetch` as HubSpot runs it for an installed card (developers.hubspot.com, "Fetching data"):
 * only URLs under the app's `permittedUrls.fetch` are allowed; the object body is sent as JSON;
 * the timeout is at most 15 s; HubSpot's proxy appends the caller's context (userId, userEmail,
 * appId, portalId) to the query before forwarding. Here it forwards to a local server instead of
 * the permitted origin, over real HTTP, and hands back the real Response.
 */
import type { hubspot } from '@hubspot/ui-extensions';

export type HubspotFetch = typeof hubspot.fetch;

const MAX_TIMEOUT_MS = 15_000;

export function hubspotFetch(opts: {
  /** app-hsmeta.json `permittedUrls.fetch` */
  permitted: readonly string[];
  /** where requests for the permitted origin really go (the fixture server) */
  upstream: string;
  context: { portalId: number; userId: number; userEmail: string; appId: number };
}): HubspotFetch {
  return async (url, options = {}) => {
    const target = new URL(String(url));
    const allowed = opts.permitted.find((p) => target.href.startsWith(p));
    if (allowed === undefined) throw new Error(`${target.href} is not in permittedUrls.fetch`);
    const timeout = options.timeout ?? MAX_TIMEOUT_MS;
    if (timeout > MAX_TIMEOUT_MS) throw new Error(`timeout ${timeout} ms is over HubSpot's ${MAX_TIMEOUT_MS} ms`);
    const forwarded = new URL(target.pathname + target.search, opts.upstream);
    forwarded.searchParams.set('userId', String(opts.context.userId));
    forwarded.searchParams.set('userEmail', opts.context.userEmail);
    forwarded.searchParams.set('appId', String(opts.context.appId));
    forwarded.searchParams.set('portalId', String(opts.context.portalId));
    const headers = new Headers(options.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(forwarded, {
      method: options.method ?? 'GET',
      headers,
      signal: AbortSignal.timeout(timeout),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  };
}
