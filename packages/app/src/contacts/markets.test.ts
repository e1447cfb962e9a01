import { describe, expect, it } from 'vitest';
import { marketOfPhone, withMarket } from './markets.js';

describe('the market a phone number names', () => {
  it('by the longest calling code of the markets given', () => {
    expect(marketOfPhone('+254711000001')).toBe('KE');
    expect(marketOfPhone('+2348030000001')).toBe('NG');
    expect(marketOfPhone('+919800000001')).toBe('IN');
    expect(marketOfPhone('+254711000001', ['NG', 'US'])).toBeUndefined();
    expect(marketOfPhone('+9999')).toBeUndefined();
  });

  it('+1 is the United States only where the area code is one of its own: not Canada, not the Caribbean countries', () => {
    expect(marketOfPhone('+12125550100')).toBe('US');
    expect(marketOfPhone('+17875550100')).toBe('US'); // Puerto Rico: a US territory
    expect(marketOfPhone('+14165550100')).toBeUndefined(); // Toronto
    expect(marketOfPhone('+16045550100')).toBeUndefined(); // Vancouver
    expect(marketOfPhone('+18765550100')).toBeUndefined(); // Jamaica
    expect(marketOfPhone('+18095550100')).toBeUndefined(); // Dominican Republic
  });

  it('a market given wins; one inferred only from a phone in E.164', () => {
    const c = { id: 'c', identities: [], attributes: {} } as unknown as Parameters<typeof withMarket>[0];
    expect(withMarket(c, [{ kind: 'phone', value: '+254711000001' }]).market).toBe('KE');
    expect(withMarket({ ...c, market: 'NG' }, [{ kind: 'phone', value: '+254711000001' }]).market).toBe('NG');
    expect(withMarket(c, [{ kind: 'phone', value: '+14165550100' }]).market).toBeUndefined();
    expect(withMarket(c, [{ kind: 'email', value: 'a@example.com' }]).market).toBeUndefined();
  });
});
