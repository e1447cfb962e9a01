/**
 * A message's life: decided `queued` (or held for `review`, or `suppressed` outright), then `sent`
 * when a step went out, `delivered` and `read` as receipts come in; `failed` when every step
 * failed, `cancelled` when a journey exit, an opt-out or a reviewer stopped it first.
 */
export type MessageStatus = 'queued' | 'review' | 'suppressed' | 'sent' | 'delivered' | 'read' | 'failed' | 'cancelled';

export const MESSAGE_STATUSES: readonly MessageStatus[] = [
  'queued',
  'review',
  'suppressed',
  'sent',
  'delivered',
  'read',
  'failed',
  'cancelled',
];

/** Nothing more will be sent for it (a delivered message may still be read). */
export const MESSAGE_SETTLED: readonly MessageStatus[] = ['suppressed', 'delivered', 'read', 'failed', 'cancelled'];

/** Some step of it went out. */
export const MESSAGE_WENT: readonly MessageStatus[] = ['sent', 'delivered', 'read'];

/** Not gone yet: it can still be cancelled whole. */
export const MESSAGE_UNSENT: readonly MessageStatus[] = ['queued', 'review'];

/**
 * Counted by the contact-pressure budget: what went out or was tried (`sent` … `failed`), and what
 * was decided and waits to go (`queued`), so a second request sees the first.
 */
export const MESSAGE_PRESSURE: readonly MessageStatus[] = ['queued', 'sent', 'delivered', 'read', 'failed'];
