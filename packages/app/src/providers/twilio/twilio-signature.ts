import { createHmac, timingSafeEqual } from 'node:crypto';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';

/**
 * Twilio's request signature (twilio.com/docs/usage/webhooks/webhooks-security): base64
 * HMAC-SHA1, keyed with the Auth Token, over the full URL Twilio called followed by every POST
 * parameter, sorted by name, as name + value (a repeated name: its values sorted, each name + value).
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  let data = url;
  for (const k of names) for (const v of [...new Set(params.getAll(k))].sort()) data += k + v;
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Compared in constant time; a missing or wrongly sized header is simply not valid. */
export function validTwilioSignature(authToken: string, header: string | undefined, url: string, params: URLSearchParams): boolean {
  if (header === undefined || header === '') return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
