import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

describe('Coalescer', () => {
  it('writes what arrives together once, and answers each caller with its own part', async () => {
    const writes: string[][] = [];
    const c = new Coalescer<string, string>(async (items) => {
      writes.push(items);
      return items.map((i) => i.toUpperCase());
    }, 100);
    expect(await Promise.all(['a', 'b', 'c'].map((x) => c.submit(x)))).toEqual(['A', 'B', 'C']);
    expect(writes).toEqual([['a', 'b', 'c']]);
  });

  it('fails only the caller whose item cannot be written, not those written with it', async () => {
    const writes: string[][] = [];
    const c = new Coalescer<string, string>(async (items) => {
      writes.push(items);
      if (items.includes('bad')) throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
      return items;
    }, 100);
    const answers = await Promise.allSettled(['a', 'bad', 'c'].map((x) => c.submit(x)));
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writes).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('fails every caller at once when the database is away or cannot write (no write per caller)', async () => {
    for (const code of ['25006', '53100', '57014', 'SQLITE_BUSY']) {
      let writes = 0;
      const c = new Coalescer<string, string>(async () => {
        writes++;
        throw Object.assign(new Error(code), { code });
      }, 100);
      const answers = await Promise.allSettled(['a', 'b', 'c'].map((x) => c.submit(x)));
      expect(
        answers.every((a) => a.status === 'rejected'),
        code,
      ).toBe(true);
      expect(writes, code).toBe(1);
    }
  });

  it('fails every caller at once when the connection is lost', async () => {
    let writes = 0;
    const c = new Coalescer<string, string>(async () => {
      writes++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }, 100);
    const answers = await Promise.allSettled(['a', 'b', 'c'].map((x) => c.submit(x)));
    expect(answers.every((a) => a.status === 'rejected')).toBe(true);
    expect(writes).toBe(1);
  });
});
