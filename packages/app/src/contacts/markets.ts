import type { Contact } from '@signalbox/engine';

/** Country calling codes of the markets a ruleset may define (longest prefix wins). */
const DIAL_CODES: Record<string, string> = {
  KE: '254',
  NG: '234',
  IN: '91',
  DE: '49',
  UA: '380',
  PH: '63',
  BR: '55',
  US: '1',
  GB: '44',
  FR: '33',
  ES: '34',
  IT: '39',
  ZA: '27',
  GH: '233',
  UG: '256',
  TZ: '255',
  EG: '20',
  MX: '52',
  ID: '62',
  PK: '92',
  BD: '880',
  NL: '31',
  PL: '48',
  TR: '90',
};

const ALL = Object.keys(DIAL_CODES);

/** The market (of `markets`: the ruleset's, or every one known) whose calling code the E.164 number starts with, if any. */
export function marketOfPhone(phone: string, markets: readonly string[] = ALL): string | undefined {
  const digits = phone.replace(/^\+/, '');
  return markets
    .filter((m) => DIAL_CODES[m] !== undefined && digits.startsWith(DIAL_CODES[m] as string))
    .sort((a, b) => (DIAL_CODES[b] as string).length - (DIAL_CODES[a] as string).length)[0];
}

/**
 * A contact no one gave a market takes the one its phone number's calling code names (+254: KE),
 * as the CRM sync does: a market's prices, quiet hours and channel order then apply instead of
 * the defaults (an SMS to Kenya was priced at the default 0.05, not KE's 0.008). A market given
 * (now or before) always wins.
 */
export function withMarket(data: Contact, identities: ReadonlyArray<{ kind: string; value: string }>): Contact {
  if (data.market !== undefined) return data;
  const phone = identities.find((i) => i.kind === 'phone')?.value;
  if (phone === undefined || !phone.startsWith('+')) return data;
  const market = marketOfPhone(phone);
  return market === undefined ? data : { ...data, market };
}
