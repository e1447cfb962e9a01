import { createHash } from 'node:crypto';
import type { SeenSignatures } from './seen-signatures.js';

/**
 * Refuses a signed request seen before inside the window its signature stays valid in: the
 * signatures are kept in the store, so a replay is refused after a restart too, and on every
 * instance sharing the database.
 */
export class ReplayGuard {
  private lastPurge = 0;

  constructor(
    private readonly seen: SeenSignatures,
    private readonly windowMs: number,
  ) {}

  /** True the first time `scope` + `signature` is seen within the window; false for a replay. */
  async firstUse(scope: string, signature: string, now: number): Promise<boolean> {
    if (now - this.lastPurge > this.windowMs) {
      this.lastPurge = now;
      await this.seen.purge(now);
    }
    // a digest keeps the key short whatever the scheme's signature looks like
    const key = `${scope}:${createHash('sha256').update(signature).digest('base64url')}`;
    return this.seen.firstUse(key, now, now + this.windowMs);
  }
}
