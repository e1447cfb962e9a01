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

/**
 * Area codes of +1 (the North American Numbering Plan) that are not the United States: Canada's
 * and those of the Caribbean countries that share the code. A number there is not a US one (US
 * territories, such as Puerto Rico and Guam, are left with the US).
 */
const NANP_ELSEWHERE = new Set(
  [
    // Canada
    '204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 460 468 474 506 514 519',
    '548 579 581 584 587 600 604 613 622 639 647 672 683 705 709 742 753 778 780 782 807 819 825 867 873 879 902 905',
    // Caribbean countries and territories that are not the US
    '242 246 264 268 284 345 441 473 649 658 664 721 758 767 784 809 829 849 868 869 876',
  ]
    .join(' ')
    .split(' '),
);

/** The market (of `markets`: the ruleset's, or every one known) whose calling code the E.164 number starts with, if any. */
export function marketOfPhone(phone: string, markets: readonly string[] = ALL): string | undefined {
  const digits = phone.replace(/^\+/, '');
  return markets
    .filter((m) => DIAL_CODES[m] !== undefined && digits.startsWith(DIAL_CODES[m] as string))
    .filter((m) => m !== 'US' || !NANP_ELSEWHERE.has(digits.slice(1, 4)))
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
