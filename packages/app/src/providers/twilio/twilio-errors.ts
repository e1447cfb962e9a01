import type { ProviderOutcome, SendResult } from '@signalbox/engine';

/** Twilio error codes a send can answer with, and what each means for us (twilio.com/docs/api/errors). */
const OUTCOMES: Record<number, { outcome?: ProviderOutcome; retryable: boolean; meaning: string }> = {
  21610: { outcome: 'consent-revoked', retryable: false, meaning: 'the recipient replied STOP (unsubscribed)' },
  21211: { outcome: 'unreachable', retryable: false, meaning: "invalid 'To' number" },
  21614: { outcome: 'unreachable', retryable: false, meaning: "'To' is not a valid mobile number" },
  63016: { outcome: 'template-required', retryable: false, meaning: 'outside the WhatsApp 24 h window: an approved template is required' },
  20429: { retryable: true, meaning: 'too many concurrent requests' },
  30003: { retryable: true, meaning: 'unreachable handset' },
  30008: { retryable: true, meaning: 'unknown carrier error' },
};

/** A failed send from what the SDK threw (a RestException with Twilio's code, or a network error). */
export function twilioFailure(err: unknown): Extract<SendResult, { status: 'failed' }> {
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : null;
  const code = typeof e.code === 'number' ? e.code : null;
  if (status === null) return { status: 'failed', error: `twilio unreachable: ${String(e.message ?? err)}`, retryable: true };
  const known = code !== null ? OUTCOMES[code] : undefined;
  if (known !== undefined)
    return {
      status: 'failed',
      error: `twilio ${code}: ${known.meaning}`,
      retryable: known.retryable,
      ...(known.outcome ? { outcome: known.outcome } : {}),
    };
  return {
    status: 'failed',
    error: `twilio answered ${status}${code !== null ? ` (${code})` : ''}`,
    retryable: status === 429 || status >= 500,
  };
}

/** Twilio message statuses as our receipts (the rest are steps on the way: ignored). */
export function messageReceipt(status: string): 'delivered' | 'read' | 'undelivered' | 'failed' | null {
  switch (status) {
    case 'delivered':
      return 'delivered';
    case 'read':
      return 'read';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
      return 'failed';
    default:
      return null;
  }
}

/**
 * A call's final status as a receipt: answered by a person is delivered; an answering machine,
 * busy, no answer or a failed call is undelivered (the plan's next step follows).
 */
export function callReceipt(status: string, answeredBy: string | undefined): 'delivered' | 'undelivered' | 'failed' | null {
  if (status === 'completed') return answeredBy?.startsWith('machine') || answeredBy === 'fax' ? 'undelivered' : 'delivered';
  if (status === 'busy' || status === 'no-answer' || status === 'canceled') return 'undelivered';
  if (status === 'failed') return 'failed';
  return null;
}

/**
 * Error codes a status callback can carry that say something about the recipient, not only the
 * message: an unknown or inactive handset, a landline (no SMS) → unreachable; unsubscribed →
 * consent revoked. Others (30003 handset off, 30007 filtered, 63016 outside the window) only fail
 * the message (its plan's next step follows).
 */
export function callbackOutcome(errorCode: string | null): { outcome: ProviderOutcome; meaning: string } | null {
  switch (errorCode) {
    case '30005':
      return { outcome: 'unreachable', meaning: 'unknown or inactive handset' };
    case '30006':
      return { outcome: 'unreachable', meaning: 'landline or unreachable carrier' };
    case '21610':
      return { outcome: 'consent-revoked', meaning: 'the recipient replied STOP (unsubscribed)' };
    default:
      return null;
  }
}
