import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The token in a marketing email's unsubscribe URL: the message it came with, and an
 * HMAC-SHA256 over it with the unsubscribe secret (base64url). Opaque to the reader, unforgeable,
 * and it needs no table: the message knows its contact.
 */
export function unsubscribeToken(secret: string, messageId: string): string {
  return `${Buffer.from(messageId).toString('base64url')}.${mac(secret, messageId)}`;
}

/** The message id a token stands for, or null when it is not one of ours. */
export function readUnsubscribeToken(secret: string, token: string): string | null {
  const [id, sig, ...rest] = token.split('.');
  if (id === undefined || sig === undefined || rest.length > 0 || !/^[\w-]{1,200}$/.test(id)) return null;
  const messageId = Buffer.from(id, 'base64url').toString('utf8');
  const expected = Buffer.from(mac(secret, messageId));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected) ? messageId : null;
}

const mac = (secret: string, messageId: string) => createHmac('sha256', secret).update(`unsubscribe:${messageId}`).digest('base64url');

/**
 * The unsubscribe URL of a message (what `List-Unsubscribe` carries; the renderer can give the same
 * URL to an email body's "Unsubscribe" link as `unsubscribeUrl`).
 */
export function unsubscribeUrlFor(publicBase: string, secret: string, messageId: string): string {
  return `${publicBase.replace(/\/$/, '')}/email/unsubscribe/${unsubscribeToken(secret, messageId)}`;
}
