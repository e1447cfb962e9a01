import type { MessageRow } from '../messages/message-record.js';

/**
 * Whether the message an idempotency key made is the one a retry with that key asks for: the same
 * contact, message type and template (and purpose, where the retry names one: left out, the first
 * took the template's). Another is a 409 IDEMPOTENCY_KEY_REUSED wherever keys are taken.
 */
export function isSameRequest(
  first: MessageRow | null,
  contactId: string,
  asked: { type: string; template?: string | null | undefined; purpose?: string | null | undefined },
): boolean {
  return (
    first !== null &&
    first.contactId === contactId &&
    first.type === asked.type &&
    (first.request.template ?? null) === (asked.template || null) &&
    (!asked.purpose || first.request.purpose === asked.purpose)
  );
}
