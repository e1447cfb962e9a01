import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signalbox's own request signature, used for provider receipts and the webhook provider:
 * `Signalbox-Signature: t=<epoch ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 */
export const SIGNATURE_HEADER = 'signalbox-signature';
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

export function sign(secret: string, rawBody: string | Buffer, nowMs: number): string {
  const mac = createHmac('sha256', secret).update(`${nowMs}.`).update(rawBody).digest('hex');
  return `t=${nowMs},v1=${mac}`;
}

/**
 * `ok` carries the MAC, which names the request (timestamp and body) whatever the header's spelling:
 * the replay guard keys on it, so a header rewritten (spaces, order, `t=…0`, extra parts) is still
 * the same signature.
 */
export type SignatureCheck = { ok: true; mac: string } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export function verify(secret: string, header: string | undefined, rawBody: string | Buffer, nowMs: number): SignatureCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const parts = new Map<string, string>();
  for (const p of header.split(',')) {
    const at = p.indexOf('=');
    if (at < 0) return { ok: false, reason: 'malformed' };
    const key = p.slice(0, at).trim();
    // a part named twice is ambiguous (which one was signed?)
    if (parts.has(key)) return { ok: false, reason: 'malformed' };
    parts.set(key, p.slice(at + 1).trim());
  }
  const ts = parts.get('t');
  const v1 = parts.get('v1');
  // the timestamp exactly as signed: epoch milliseconds in digits (`1.7e12` or `…0.0` would sign another text)
  if (ts === undefined || !/^\d{1,15}$/.test(ts) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1))
    return { ok: false, reason: 'malformed' };
  const t = Number(ts);
  if (Math.abs(nowMs - t) > SIGNATURE_TOLERANCE_MS) return { ok: false, reason: 'stale' };
  const expected = createHmac('sha256', secret).update(`${ts}.`).update(rawBody).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? { ok: true, mac: v1 } : { ok: false, reason: 'mismatch' };
}
