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
});
