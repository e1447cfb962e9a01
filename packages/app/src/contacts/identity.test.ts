import { describe, expect, it } from 'vitest';
import { IdentityError, normalizeIdentity } from './identity.js';

describe('email identities', () => {
  it('takes addresses as mail systems do, lower-cased', () => {
    for (const [given, stored] of [
      ['Amina@Example.com', 'amina@example.com'],
      [' o.tieno+promo@mail.example.co.ke ', 'o.tieno+promo@mail.example.co.ke'],
      ["o'brien@example.ie", "o'brien@example.ie"],
      ['a_b-c@sub-domain.example.org', 'a_b-c@sub-domain.example.org'],
      ['jürgen@münchen.de', 'jürgen@münchen.de'],
      ['user@xn--mnchen-3ya.de', 'user@xn--mnchen-3ya.de'],
      ['x@a.io', 'x@a.io'],
      // dots where RFC 5322 has none: addresses Japanese carriers gave out, and mail delivers
      ['taro.@docomo.ne.jp', 'taro.@docomo.ne.jp'],
      ['a..b@ezweb.ne.jp', 'a..b@ezweb.ne.jp'],
    ])
      expect(normalizeIdentity('email', given as string), given).toBe(stored);
  });

  it('refuses what would be another contact than the address typed, or no address at all', () => {
    for (const bad of [
      'a@example.com\u200b',
      '\u200ba@example.com',
      'a\u00a0b@example.com',
      'a@example.com.',
      'a@-example.com',
      'a@example-.com',
      'a@example..com',
      'a@example',
      'a@1.2.3.4',
      'a@@example.com',
      '@example.com',
      'a b@example.com',
      `${'a'.repeat(65)}@example.com`,
      `a@${'b'.repeat(250)}.com`,
      '"quoted"@example.com',
    ]) {
      expect(() => normalizeIdentity('email', bad, '/identities/0/value'), JSON.stringify(bad)).toThrow(IdentityError);
    }
  });
});
