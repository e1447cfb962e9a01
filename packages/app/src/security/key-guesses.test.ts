import { describe, expect, it } from 'vitest';
import { KeyGuesses } from './key-guesses.js';

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
});
