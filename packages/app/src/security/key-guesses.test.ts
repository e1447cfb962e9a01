import { describe, expect, it } from 'vitest';
import { KeyGuesses } from './key-guesses.js';

describe('keys guessed wrong per address', () => {
  it('refuses an address after max failures within the window, until the oldest leaves it', () => {
    const l = new KeyGuesses({ max: 3, windowMs: 60_000, maxClients: 100 });
    for (const t of [0, 10_000, 20_000]) {
      expect(l.retryAfter('a', t)).toBe(0);
      l.failed('a', t);
    }
    expect(l.retryAfter('a', 20_000)).toBe(40_000);
    expect(l.retryAfter('b', 20_000)).toBe(0);
    // the first failure leaves the window at 60 s: one more try, and a failure closes it again
    expect(l.retryAfter('a', 59_999)).toBe(1);
    expect(l.retryAfter('a', 60_000)).toBe(0);
    l.failed('a', 60_000);
    expect(l.retryAfter('a', 60_000)).toBe(10_000);
  });

  it('failures spread over time never add up; whether any address failed within the window', () => {
    const l = new KeyGuesses({ max: 2, windowMs: 1000, maxClients: 100 });
    expect(l.tracking(0)).toBe(false);
    l.failed('a', 0);
    expect(l.tracking(999)).toBe(true);
    expect(l.tracking(1000)).toBe(false);
    l.failed('a', 1000);
    expect(l.retryAfter('a', 1000)).toBe(0);
    for (let t = 0; t < 10_000; t += 1000) l.failed('b', t);
    expect(l.retryAfter('b', 9500)).toBe(0);
  });

  it('tracks at most maxClients addresses, forgetting the one seen longest ago', () => {
    const l = new KeyGuesses({ max: 1, windowMs: 60_000, maxClients: 2 });
    l.failed('a', 0);
    l.failed('b', 1);
    l.failed('a', 2);
    l.failed('c', 3);
    expect(l.retryAfter('b', 4)).toBe(0);
    expect(l.retryAfter('a', 4)).toBeGreaterThan(0);
    expect(l.retryAfter('c', 4)).toBeGreaterThan(0);
  });
});
