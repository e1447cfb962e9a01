/**
 * What HubSpot sends to an app, signed as HubSpot signs it: Webhooks API batches (v1 and v3),
 * custom workflow action executions (v2) and app-card `hubspot.fetch()` calls (v3, with the
 * context HubSpot appends to the URL).
 */
import { signV1, signV2, signV3 } from '../signature.js';

/** A Webhooks API delivery: JSON array, signed v1 (X-HubSpot-Signature) and v3. */
export function sendWebhooks(
  secret: string,
  targetUrl: string,
  events: Array<Record<string, unknown>>,
  timestamp: number = Date.now(),
): Promise<Response> {
  const body = JSON.stringify(events);
  return fetch(targetUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hubspot-signature-version': 'v1',
      'x-hubspot-signature': signV1(secret, body),
      'x-hubspot-signature-v3': signV3(secret, 'POST', targetUrl, body, timestamp),
      'x-hubspot-request-timestamp': String(timestamp),
      'x-hubspot-timeout-millis': '10000',
    },
    body,
  });
}

/** A custom workflow action execution, signed v2. */
export function sendCustomAction(secret: string, targetUrl: string, payload: Record<string, unknown>): Promise<Response> {
  const body = JSON.stringify(payload);
  return fetch(targetUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hubspot-signature-version': 'v2',
      'x-hubspot-signature': signV2(secret, 'POST', targetUrl, body),
    },
    body,
  });
}

/** An app card's `hubspot.fetch()`: HubSpot appends userId, userEmail, appId and portalId, and signs v3. */
export function fetchFromCard(
  secret: string,
  baseUrl: string,
  context: { portalId: number; userId: number; userEmail?: string; appId?: number },
  init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
): Promise<Response> {
  const u = new URL(baseUrl);
  for (const [k, v] of Object.entries(init.query ?? {})) u.searchParams.set(k, v);
  u.searchParams.set('userId', String(context.userId));
  if (context.userEmail) u.searchParams.set('userEmail', context.userEmail);
  u.searchParams.set('appId', String(context.appId ?? 54321));
  u.searchParams.set('portalId', String(context.portalId));
  const url = u.toString();
  const method = init.method ?? 'GET';
  const body = init.body === undefined ? '' : JSON.stringify(init.body);
  const ts = Date.now();
  return fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-hubspot-signature-v3': signV3(secret, method, url, body, ts),
      'x-hubspot-request-timestamp': String(ts),
    },
    ...(body === '' ? {} : { body }),
  });
}
