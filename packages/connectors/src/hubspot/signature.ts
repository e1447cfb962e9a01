import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HubSpot's request signatures (shared/reference/hubspot.md §1). */
export type SignatureCheck = { ok: true; version: 'v1' | 'v2' | 'v3' } | { ok: false; reason: string };

export interface SignedRequest {
  method: string;
  /** The full URL HubSpot called, scheme and host included, exactly as sent (query order kept). */
  url: string;
  /** The raw body bytes (never a re-serialised object). */
  rawBody: Buffer;
  /** Header lookup, case-insensitive. */
  header(name: string): string | undefined;
}

export const MAX_SIGNATURE_AGE_MS = 5 * 60_000;

/**
 * The escapes HubSpot's v3 validation guide decodes in the URI before hashing; nothing else is
 * decoded (a `+` stays a `+`, `%20` stays `%20`).
 */
const V3_DECODE: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
export function decodeV3Uri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => V3_DECODE[m.toUpperCase()] ?? m);
}

export function signV1(secret: string, rawBody: Buffer | string): string {
  return createHash('sha256').update(secret, 'utf8').update(rawBody).digest('hex');
}

export function signV2(secret: string, method: string, url: string, rawBody: Buffer | string): string {
  return createHash('sha256').update(`${secret}${method.toUpperCase()}${url}`, 'utf8').update(rawBody).digest('hex');
}

export function signV3(secret: string, method: string, url: string, rawBody: Buffer | string, timestamp: number | string): string {
  return createHmac('sha256', secret)
    .update(`${method.toUpperCase()}${decodeV3Uri(url)}`, 'utf8')
    .update(rawBody)
    .update(String(timestamp), 'utf8')
    .digest('base64');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a request from HubSpot: v3 when it carries `X-HubSpot-Signature-v3` (timestamp within
 * five minutes), otherwise the version `X-HubSpot-Signature-Version` names (v1 for the Webhooks
 * API, v2 for workflow actions). `accept` limits which versions an endpoint takes.
 */
export function verifyHubspotSignature(
  secret: string,
  req: SignedRequest,
  now: number,
  accept: ReadonlyArray<'v1' | 'v2' | 'v3'> = ['v1', 'v2', 'v3'],
): SignatureCheck {
  const v3 = req.header('x-hubspot-signature-v3');
  if (v3 !== undefined && accept.includes('v3')) {
    const ts = req.header('x-hubspot-request-timestamp');
    if (ts === undefined || !/^\d{1,16}$/.test(ts)) return { ok: false, reason: 'timestamp missing' };
    const age = now - Number(ts);
    if (age > MAX_SIGNATURE_AGE_MS || age < -MAX_SIGNATURE_AGE_MS) return { ok: false, reason: 'stale' };
    return same(signV3(secret, req.method, req.url, req.rawBody, ts), v3) ? { ok: true, version: 'v3' } : { ok: false, reason: 'mismatch' };
  }
  const sig = req.header('x-hubspot-signature');
  if (sig === undefined) return { ok: false, reason: 'missing' };
  const version = (req.header('x-hubspot-signature-version') ?? 'v1').toLowerCase();
  if (version === 'v1' && accept.includes('v1'))
    return same(signV1(secret, req.rawBody), sig.toLowerCase()) ? { ok: true, version: 'v1' } : { ok: false, reason: 'mismatch' };
  if (version === 'v2' && accept.includes('v2'))
    return same(signV2(secret, req.method, req.url, req.rawBody), sig.toLowerCase())
      ? { ok: true, version: 'v2' }
      : { ok: false, reason: 'mismatch' };
  return { ok: false, reason: `version ${version} not accepted here` };
}
