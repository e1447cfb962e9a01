import { describe, expect, it } from 'vitest';
import { assertJsonDepth, pointerPastDepth } from './json-body.js';

/** `depth` arrays nested inside each other. */
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('pointerPastDepth', () => {
  it('names the value past the limit, whatever came before it in arrays and objects', () => {
    expect(pointerPastDepth(`{"rules":[{},{},{"c":${deep(5)}}]}`, 4)).toBe('/rules/2/c/0');
    expect(pointerPastDepth(`[{},{"a":${deep(5)}}]`, 3)).toBe('/1/a/0');
    expect(pointerPastDepth(`{"x":[[],${deep(5)}]}`, 3)).toBe('/x/1/0');
    expect(pointerPastDepth(`{"a":{"b":[1,{"c":2},[3,4]],"d":{"e":${deep(5)}}}}`, 4)).toBe('/a/d/e/0');
    expect(pointerPastDepth(`[[1,2],[[3]],{"k":"v"},${deep(5)}]`, 3)).toBe('/3/0/0');
    // keys with escapes and the characters a pointer escapes
    expect(pointerPastDepth(`{"a\\"b":1,"c/d~e":[0,${deep(5)}]}`, 3)).toBe('/c~1d~0e/1/0');
  });
  it('is what the refusal of a too-deep body says', () => {
    const body = `{"rules":[{"conditions":{"any":[]}},{"conditions":{"any":[${deep(70)}]}}]}`;
    let path = '';
    try {
      assertJsonDepth(body);
    } catch (e) {
      path = (e as { problems: Array<{ path: string }> }).problems[0]?.path ?? '';
    }
    expect(path).toMatch(/^\/rules\/1\/conditions\/any\/0(\/0)+$/);
  });
});
