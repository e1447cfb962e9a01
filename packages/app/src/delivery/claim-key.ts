/**
 * The claim on one plan step of one message: unique, so a step is sent at most once by any worker,
 * and passed to the provider as its idempotency key.
 */
export function claimKey(messageId: string, step: number): string {
  return `${messageId}:${step}`;
}
