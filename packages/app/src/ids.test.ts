import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('is a version-7 RFC 9562 UUID that sorts by time, monotonic within a millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidv7(1_800_000_000_000) > (ids.at(-1) as string)).toBe(true);
    // the first 48 bits are the Unix time in ms
    expect(Number.parseInt((ids[0] as string).replace(/-/g, '').slice(0, 12), 16)).toBe(1_700_000_000_000);
    expect(Number.parseInt(uuidv7(1_900_000_000_123).replace(/-/g, '').slice(0, 12), 16)).toBe(1_900_000_000_123);
  });
});
