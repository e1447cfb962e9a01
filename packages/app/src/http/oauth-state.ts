import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InputError } from '../errors.js';

/** How long an install or connect link stays good. */
const STATE_TTL_MS = 3_600_000;

/**
 * The `state` of an OAuth authorization request, signed against CSRF: `<issued>-<nonce>.<mac>`,
 * keyed by the app's client secret (a callback whose state we did not issue, or issued more than an
 * hour ago, is refused).
 */
export class OAuthState {
  private readonly key: Buffer;

  constructor(
    clientSecret: string,
    private readonly now: () => number,
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
}
