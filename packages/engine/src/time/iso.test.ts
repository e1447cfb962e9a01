import { describe, expect, it } from 'vitest';
import { rng } from '../testing/generate.js';
import { formatIso } from './iso.js';

describe('fast ISO instants', () => {
  it('format exactly like Date#toISOString over 100,000 random instants 1970–2200', () => {
    const r = rng(1);
    for (let i = 0; i < 100_000; i++) {
      const ms = Math.floor(r() * 7_258_118_400_000);
      expect(formatIso(ms)).toBe(new Date(ms).toISOString());
    }
    expect(formatIso(-1)).toBe(new Date(-1).toISOString());
  });
  it('years outside 0000–9999 are written the way Date#toISOString writes them', () => {
    for (const ms of [
      Date.UTC(10_000, 0, 1),
      Date.UTC(12_345, 5, 6, 7, 8, 9, 10),
      Date.UTC(-1, 11, 31, 23, 59, 59, 999),
      -62_198_755_200_001,
    ]) {
      expect(formatIso(ms)).toBe(new Date(ms).toISOString());
    }
    expect(formatIso(Date.UTC(9999, 11, 31, 23, 59, 59, 999))).toBe('9999-12-31T23:59:59.999Z');
  });
});
