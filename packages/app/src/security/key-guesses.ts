import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../logger.js';

/**
 * A key (or a guesser) as the limiter remembers it: never the key (or the address) itself, and
 * keyed (an unkeyed hash of an IPv4 address is undone by trying all 2^32 of them).
 */
const fingerprintWith = (secret: Buffer) => (value: string) => createHmac('sha256', secret).update(value).digest('base64url').slice(0, 16);

/** One wrong key counted by an instance, as the others hear of it: fingerprints and a time. */
export interface SharedFailure {
  guesser: string;
  key: string;
  at: number;
}

/** What a fingerprint looks like (a failure heard is taken only in that shape). */
const SHARED = /^[A-Za-z0-9_-]{16}$/;

/**
 * Who one guesser is, from a client address: an IPv6 client is its /64 (every host is handed at
 * least one, so counting single addresses would give it 2^64 tries), an IPv4-mapped address is
 * the IPv4 address, anything else is itself.
 */
export function guesser(address: string): string {
  const a = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1] as string;
  if (!isIPv6(a)) return address;
  const [head = '', tail] = a.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * API keys guessed wrong per client address (a console sign-in or an API request with a key that
 * is not valid; IPv6 per /64: `guesser`), in a sliding window: after `max` different wrong keys within `windowMs`, every key
 * from that address is refused (even a good one: it could be the lucky guess) until the oldest of
 * them leaves the window. Different keys, because that is what guessing is: a client sending one
 * stale key again and again (or a test trying every route with it) is answered 401 each time and
 * guesses nothing. A good key does not forget the failures before it (one valid key of low rank
 * would otherwise reset the count between guesses at others). Kept in memory, bounded: when
 * `maxClients` addresses are tracked, the one seen longest ago is forgotten. Instances of one
 * deployment count together: each failure counted here is told to `share` (fingerprints and a
 * time: neither the address nor the key), and what the others counted comes in through `heard`
 * (see KeyGuessesShared), so N instances do not allow N times the guesses.
 */
export class KeyGuesses {
  private readonly failures = new Map<string, Array<{ at: number; key: string }>>();
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly o: {
      max: number;
      windowMs: number;
      maxClients: number;
      /** Told once each time a guesser reaches `max` (its fingerprint, never the address: logs keep no address). */
      onRefused?: (guesser: string) => void;
      /** Told each key counted here that is new for its guesser, for the other instances (see `heard`). */
      share?: (failure: SharedFailure) => void;
      /** Keys the fingerprints (the same on every instance that shares them); a random one by default. */
      secret?: Buffer;
    } = { max: 10, windowMs: 5 * 60_000, maxClients: 10_000 },
  ) {
    this.fingerprint = fingerprintWith(o.secret ?? randomBytes(32));
  }

  private readonly fingerprint: (value: string) => string;

  /** Milliseconds until `client` may try again (0: it may now). */
  retryAfter(address: string, now: number): number {
    if (!this.tracking(now)) return 0;
    const list = this.recent(this.fingerprint(guesser(address)), now);
    if (list.length < this.o.max) return 0;
    return (list[list.length - this.o.max]?.at as number) + this.o.windowMs - now;
  }

  /**
   * `key` was presented by `client` and is not valid (the same key again only moves its time).
   * Returns the guesser's fingerprint (what an audit entry may keep: never the address), whether
   * the key is new for it within the window (`fresh`: the same wrong key again is no new guess), and
   * whether this failure made it wait.
   */
  failed(address: string, key: string, now: number): { guesser: string; fresh: boolean; waits: boolean } {
    const failure = { guesser: this.fingerprint(guesser(address)), key: this.fingerprint(key), at: now };
    const { fresh, crossed } = this.count(failure, now);
    if (crossed) this.o.onRefused?.(failure.guesser);
    // the same wrong key again moves its time here and tells no one: a client resending one stale key
    // costs the others nothing
    if (fresh) this.o.share?.(failure);
    return { guesser: failure.guesser, fresh, waits: crossed };
  }

  /**
   * A failure another instance counted (`share` there): counted here as if it had been, except that
   * it is not told on. A time ahead of `now` (another machine's clock) counts as now. The guesser
   * it makes wait is logged here too (the failures that make it wait may have been spread so that
   * no instance counted the last of them itself).
   */
  heard(failure: SharedFailure, now: number): void {
    if (!SHARED.test(failure.guesser) || !SHARED.test(failure.key) || !Number.isFinite(failure.at)) return;
    if (this.count({ ...failure, at: Math.min(failure.at, now) }, now).crossed) this.o.onRefused?.(failure.guesser);
  }

  /** Counts a failure: whether its key is new for its guesser, and whether it makes the guesser wait. */
  private count(f: SharedFailure, now: number): { fresh: boolean; crossed: boolean } {
    if (f.at <= now - this.o.windowMs) return { fresh: false, crossed: false };
    const recent = this.recent(f.guesser, now);
    const same = recent.find((g) => g.key === f.key);
    const list = recent.filter((g) => g !== same);
    const before = list.length;
    // the latest time of a key: one heard late from another instance does not move it back
    list.push({ at: Math.max(f.at, same?.at ?? f.at), key: f.key });
    // in time order (a failure heard from another instance may be older than the last one here)
    list.sort((a, b) => a.at - b.at);
    this.lastFailure = Math.max(this.lastFailure, f.at);
    // most recently seen last: the first key is the one to forget when full
    this.failures.delete(f.guesser);
    this.failures.set(f.guesser, list.slice(-this.o.max));
    if (this.failures.size > this.o.maxClients) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    return { fresh: same === undefined, crossed: before < this.o.max && list.length >= this.o.max };
  }

  /** Whether any address has failed within the window (nothing to look up otherwise: the ingest fast path's shortcut). */
  tracking(now: number): boolean {
    return this.lastFailure > now - this.o.windowMs;
  }

  private recent(client: string, now: number): Array<{ at: number; key: string }> {
    const list = (this.failures.get(client) ?? []).filter((g) => g.at > now - this.o.windowMs);
    if (list.length === 0) this.failures.delete(client);
    return list;
  }
}

/**
 * The limit every deployment runs with: ten different wrong keys in five minutes per address, ten
 * thousand addresses remembered; reaching it is logged (a fingerprint, never the address). `share`:
 * the other instances are told (see KeyGuessesShared).
 */
export function keyGuessLimit(o: { log: Logger; share?: (failure: SharedFailure) => void; secret?: Buffer }): KeyGuesses {
  return new KeyGuesses({
    max: 10,
    windowMs: 5 * 60_000,
    maxClients: 10_000,
    onRefused: (guesser) => o.log.warn({ guesser }, 'ten different API keys that are not valid from one address: its keys wait 5 minutes'),
    ...(o.share !== undefined ? { share: o.share } : {}),
    ...(o.secret !== undefined ? { secret: o.secret } : {}),
  });
}
