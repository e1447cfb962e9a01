import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignalboxError } from '@signalbox/engine';
import { AppError, InputError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Where the states used are remembered until they would have expired anyway: keyv on Redis with
 * REDIS_URL, else the store (StoredMarks); both shared by every instance and kept over a restart.
 */
export interface UsedStates {
  get(key: string): Promise<unknown>;
  set(key: string, value: true, ttl: number): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  /** Sets the key unless it is set (atomically): true when this call set it. Where there is one. */
  setIfAbsent?(key: string, ttl: number): Promise<boolean>;
}

/** How long an install or connect link stays good. */
const STATE_TTL_MS = 3_600_000;

/**
 * The `state` of an OAuth authorization request, signed against CSRF: `<issued>-<nonce>.<mac>`,
 * keyed by the app's client secret (a callback whose state we did not issue, or issued more than an
 * hour ago, is refused), and good once: a callback replayed (on this instance or another sharing
 * its Redis) is refused too.
 */
export class OAuthState {
  private readonly key: Buffer;

  constructor(
    clientSecret: string,
    private readonly now: () => number,
    private readonly used: UsedStates,
    private readonly log: Logger,
  ) {
    this.key = createHash('sha256').update(`state:${clientSecret}`).digest();
  }

  private mac(nonce: string): string {
    return createHmac('sha256', this.key).update(nonce).digest('base64url');
  }

  issue(): string {
    const nonce = `${this.now()}-${randomBytes(8).toString('hex')}`;
    return `${nonce}.${this.mac(nonce)}`;
  }

  /** Throws OAUTH_STATE_INVALID unless `state` is one we issued within the hour. */
  check(state: string): void {
    const [nonce = '', mac = ''] = state.split('.');
    const expected = this.mac(nonce);
    const issued = Number(nonce.split('-')[0]);
    if (
      mac.length !== expected.length ||
      !timingSafeEqual(Buffer.from(mac), Buffer.from(expected)) ||
      !(this.now() - issued < STATE_TTL_MS)
    )
      throw new InputError(
        'the link is not ours or has expired: start again',
        [{ path: '/query/state', message: 'not a state we issued, or older than an hour' }],
        'OAUTH_STATE_INVALID',
      );
  }

  /**
   * check(), then remembers the state as used until it would have expired. In the store this is one
   * atomic statement; on Redis (keyv has no set-if-absent) two callbacks racing with one state may
   * both pass, and the authorization code itself, good once at HubSpot and Salesforce, lets at most
   * one of them connect.
   */
  /**
   * Runs `connect` with the state consumed; when it fails for a passing reason (the CRM unreachable,
   * rate limiting, a 5xx: a 429 or 5xx answer), the state is good again, so the same callback can be
   * tried once more. A refusal (4xx) keeps it used.
   */
  async consumeFor<T>(state: string, connect: () => Promise<T>): Promise<T> {
    await this.consume(state);
    try {
      return await connect();
    } catch (err) {
      if (err instanceof SignalboxError && (err.status === 429 || err.status >= 500)) {
        const nonce = state.split('.')[0] as string;
        await this.used.delete(`state:${nonce}`).catch(() => undefined);
      }
      throw err;
    }
  }

  async consume(state: string): Promise<void> {
    this.check(state);
    const nonce = state.split('.')[0] as string;
    const ttl = Number(nonce.split('-')[0]) + STATE_TTL_MS - this.now();
    let seen: unknown;
    try {
      if (this.used.setIfAbsent !== undefined) seen = (await this.used.setIfAbsent(`state:${nonce}`, Math.max(1, ttl))) ? undefined : true;
      else {
        seen = await this.used.get(`state:${nonce}`);
        if (seen === undefined) await this.used.set(`state:${nonce}`, true, Math.max(1, ttl));
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'used OAuth states cannot be read or written');
      throw new AppError(503, 'CACHE_UNAVAILABLE', 'the link cannot be checked right now: try again in a moment');
    }
    if (seen !== undefined)
      throw new InputError(
        'this link was used already: start again',
        [{ path: '/query/state', message: 'a state is good for one callback' }],
        'OAUTH_STATE_USED',
      );
  }
}
