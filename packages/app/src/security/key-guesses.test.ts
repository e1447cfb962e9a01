import { describe, expect, it } from 'vitest';
import { guesser, KeyGuesses, type SharedFailure } from './key-guesses.js';

describe('keys guessed wrong per address', () => {
  it('refuses an address after max different wrong keys within the window, until the oldest leaves it', () => {
    const l = new KeyGuesses({ max: 3, windowMs: 60_000, maxClients: 100 });
    for (const t of [0, 10_000, 20_000]) {
      expect(l.retryAfter('a', t)).toBe(0);
      l.failed('a', `guess-${t}`, t);
    }
    expect(l.retryAfter('a', 20_000)).toBe(40_000);
    expect(l.retryAfter('b', 20_000)).toBe(0);
    // the first failure leaves the window at 60 s: one more try, and a failure closes it again
    expect(l.retryAfter('a', 59_999)).toBe(1);
    expect(l.retryAfter('a', 60_000)).toBe(0);
    l.failed('a', 'guess-60000', 60_000);
    expect(l.retryAfter('a', 60_000)).toBe(10_000);
  });

  it('says once when a guesser is refused, by a fingerprint of its address', () => {
    const told: string[] = [];
    const l = new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, onRefused: (g) => told.push(g) });
    l.failed('203.0.113.7', 'k1', 0);
    expect(told).toEqual([]);
    l.failed('203.0.113.7', 'k2', 1);
    l.failed('203.0.113.7', 'k3', 2);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/^[\w-]{16}$/);
    expect(told[0]).not.toContain('203.0.113');
  });

  it('one wrong key sent again and again is not guessing: it counts once, at its latest time', () => {
    const l = new KeyGuesses({ max: 3, windowMs: 60_000, maxClients: 100 });
    for (let t = 0; t < 100; t++) l.failed('a', 'stale-key', t);
    l.failed('a', 'other-key', 100);
    expect(l.retryAfter('a', 100)).toBe(0);
    l.failed('a', 'third-key', 200);
    // three different keys: refused until the oldest of them (the stale key, last sent at 99) is a minute old
    expect(l.retryAfter('a', 200)).toBe(99 + 60_000 - 200);
  });

  it('failures spread over time never add up; whether any address failed within the window', () => {
    const l = new KeyGuesses({ max: 2, windowMs: 1000, maxClients: 100 });
    expect(l.tracking(0)).toBe(false);
    l.failed('a', 'k0', 0);
    expect(l.tracking(999)).toBe(true);
    expect(l.tracking(1000)).toBe(false);
    l.failed('a', 'k1', 1000);
    expect(l.retryAfter('a', 1000)).toBe(0);
    for (let t = 0; t < 10_000; t += 1000) l.failed('b', `k${t}`, t);
    expect(l.retryAfter('b', 9500)).toBe(0);
  });

  it('tracks at most maxClients addresses, forgetting the one seen longest ago', () => {
    const l = new KeyGuesses({ max: 1, windowMs: 60_000, maxClients: 2 });
    l.failed('a', 'k', 0);
    l.failed('b', 'k', 1);
    l.failed('a', 'k', 2);
    l.failed('c', 'k', 3);
    expect(l.retryAfter('b', 4)).toBe(0);
    expect(l.retryAfter('a', 4)).toBeGreaterThan(0);
    expect(l.retryAfter('c', 4)).toBeGreaterThan(0);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped one as its IPv4 address', () => {
    expect(guesser('203.0.113.7')).toBe('203.0.113.7');
    expect(guesser('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(guesser('::FFFF:203.0.113.7')).toBe('203.0.113.7');
    expect(guesser('fd00::1')).toBe('fd00:0:0:0::/64');
    expect(guesser('fd00::2')).toBe('fd00:0:0:0::/64');
    expect(guesser('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(guesser('2001:0DB8:0001:0002::ff')).toBe('2001:db8:1:2::/64');
    expect(guesser('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(guesser('::1')).toBe('0:0:0:0::/64');
    expect(guesser('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
    expect(guesser('2001:db8:1:2::192.0.2.33')).toBe('2001:db8:1:2::/64');
    expect(guesser('garbage')).toBe('garbage');
    const l = new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100 });
    l.failed('2001:db8:1:2::a', 'k1', 0);
    l.failed('2001:db8:1:2::b', 'k2', 1);
    expect(l.retryAfter('2001:db8:1:2::c', 2)).toBeGreaterThan(0);
    expect(l.retryAfter('2001:db8:1:3::a', 2)).toBe(0);
    l.failed('::ffff:198.51.100.1', 'k1', 0);
    l.failed('198.51.100.1', 'k2', 1);
    expect(l.retryAfter('198.51.100.1', 2)).toBeGreaterThan(0);
  });

  it('counts what other instances counted: the failures told by one make the address wait on another, each told once', () => {
    const told: SharedFailure[] = [];
    const refused: string[] = [];
    // instances of one deployment key their fingerprints alike
    const secret = Buffer.alloc(32, 7);
    const a = new KeyGuesses({ max: 3, windowMs: 60_000, maxClients: 100, secret, share: (f) => told.push(f) });
    const b = new KeyGuesses({
      max: 3,
      windowMs: 60_000,
      maxClients: 100,
      secret,
      onRefused: (g) => refused.push(g),
      share: (f) => told.push(f),
    });
    a.failed('203.0.113.7', 'k1', 0);
    a.failed('203.0.113.7', 'k2', 1_000);
    // fingerprints only: neither the address nor the key goes to the others
    expect(told).toHaveLength(2);
    expect(JSON.stringify(told)).not.toMatch(/203\.0\.113|k1|k2/);
    for (const f of told.splice(0)) b.heard(f, 2_000);
    // what b heard is not told on, and does not reach the limit alone
    expect(told).toEqual([]);
    expect(b.retryAfter('203.0.113.7', 2_000)).toBe(0);
    // the same key again on b is still one key; a third one on b closes it, by the oldest failure (a's first)
    b.failed('203.0.113.7', 'k2', 2_000);
    expect(b.retryAfter('203.0.113.7', 2_000)).toBe(0);
    b.failed('203.0.113.7', 'k3', 3_000);
    expect(b.retryAfter('203.0.113.7', 3_000)).toBe(57_000);
    expect(refused).toHaveLength(1);
    // and a hears b's new key (k2 again was not new: not told), and is closed as well
    for (const f of told.splice(0)) a.heard(f, 3_000);
    expect(a.retryAfter('198.51.100.1', 3_000)).toBe(0);
    expect(a.retryAfter('::ffff:203.0.113.7', 3_000)).toBe(57_000);
  });

  it('what is heard is taken only in its shape, never ahead of the clock, and not once it is out of the window', () => {
    const l = new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100 });
    const g = 'AAAAAAAAAAAAAAAA';
    l.heard({ guesser: '203.0.113.7', key: 'BBBBBBBBBBBBBBBB', at: 0 }, 0);
    l.heard({ guesser: g, key: 'not a fingerprint', at: 0 }, 0);
    l.heard({ guesser: g, key: 'CCCCCCCCCCCCCCCC', at: Number.NaN }, 0);
    expect(l.tracking(0)).toBe(false);
    // a failure a minute old (another instance told it late) counts for nothing
    l.heard({ guesser: g, key: 'DDDDDDDDDDDDDDDD', at: 0 }, 60_000);
    expect(l.tracking(60_000)).toBe(false);
    // a time ahead of this clock counts as now: the wait is never longer than the window
    l.heard({ guesser: g, key: 'EEEEEEEEEEEEEEEE', at: 10 * 60_000 }, 60_000);
    l.heard({ guesser: g, key: 'FFFFFFFFFFFFFFFF', at: 60_000 }, 60_000);
    expect(l.tracking(60_000)).toBe(true);
  });

  it("tells the others only of a key new for its guesser; logs a guesser made to wait by what it heard; keeps a key's latest time", () => {
    const told: SharedFailure[] = [];
    const refused: string[] = [];
    const a = new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, share: (f) => told.push(f), onRefused: (g) => refused.push(g) });
    for (let t = 0; t < 50; t++) a.failed('203.0.113.7', 'stale', t);
    expect(told).toHaveLength(1);
    // a failure heard late, older than the one counted here, does not move the key back
    a.heard({ ...(told[0] as SharedFailure), at: 0 }, 60_000);
    a.heard({ guesser: (told[0] as SharedFailure).guesser, key: 'ZZZZZZZZZZZZZZZZ', at: 100 }, 100);
    expect(refused).toEqual([(told[0] as SharedFailure).guesser]);
    // the stale key was last sent at 49: the wait ends when that is a minute old, not at 60 s
    expect(a.retryAfter('203.0.113.7', 100)).toBe(60_000 + 49 - 100);
  });

  it('keys its fingerprints: the same address is another fingerprint under another secret', () => {
    const told: SharedFailure[] = [];
    new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, secret: Buffer.alloc(32, 1), share: (f) => told.push(f) }).failed(
      '203.0.113.7',
      'k',
      0,
    );
    new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, secret: Buffer.alloc(32, 1), share: (f) => told.push(f) }).failed(
      '203.0.113.7',
      'k',
      0,
    );
    new KeyGuesses({ max: 2, windowMs: 60_000, maxClients: 100, secret: Buffer.alloc(32, 2), share: (f) => told.push(f) }).failed(
      '203.0.113.7',
      'k',
      0,
    );
    expect(told[0]).toEqual(told[1]);
    expect(told[2]?.guesser).not.toBe(told[0]?.guesser);
  });
});
