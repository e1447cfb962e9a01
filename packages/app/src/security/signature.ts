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

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export function verify(secret: string, header: string | undefined, rawBody: string | Buffer, nowMs: number): SignatureCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  const v1 = parts.v1;
  if (!Number.isFinite(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs - t) > SIGNATURE_TOLERANCE_MS) return { ok: false, reason: 'stale' };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
