/**
 * One channel try of a plan step: `claimed` (the provider's idempotency key is taken), `sent` when
 * the provider accepted it, then `delivered` and `read`; `failed`, `undelivered` or `expired` (no
 * receipt within the step's timeout) lead to the fallback, as does `skipped` (the send gate found
 * the channel no longer allowed).
 */
export type AttemptStatus = 'claimed' | 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered' | 'expired' | 'skipped';

/** The provider took it. */
export const ATTEMPT_WENT: readonly AttemptStatus[] = ['sent', 'delivered', 'read'];

/** It will not arrive: the step's fallback fires. */
export const ATTEMPT_FAILED: readonly AttemptStatus[] = ['failed', 'undelivered', 'expired', 'skipped'];

/** Delivered and read only move forward: a status and the ones before it. */
export const ATTEMPT_PROGRESS: readonly AttemptStatus[] = ['claimed', 'sent', 'delivered', 'read'];
