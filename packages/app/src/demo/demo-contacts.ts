import type { ConsentRecord, Identity } from '@signalbox/engine';
import type { ContactFields } from '../contacts/contact-data.js';

/** A demo contact as the import takes it, with its consent. */
export interface DemoContact {
  identities: Identity[];
  fields: ContactFields;
  consent: ConsentRecord[];
}

const MARKETS: ReadonlyArray<{ market: string; prefix: string; timezone: string }> = [
  { market: 'KE', prefix: '+2547', timezone: 'Africa/Nairobi' },
  { market: 'NG', prefix: '+2348', timezone: 'Africa/Lagos' },
  { market: 'DE', prefix: '+4915', timezone: 'Europe/Berlin' },
  { market: 'IN', prefix: '+9198', timezone: 'Asia/Kolkata' },
  { market: 'BR', prefix: '+5511', timezone: 'America/Sao_Paulo' },
  { market: 'GB', prefix: '+4477', timezone: 'Europe/London' },
  { market: 'US', prefix: '+1415', timezone: 'America/Los_Angeles' },
];

/** How many contacts the demo loads. */
export const DEMO_CONTACTS = 300;

/**
 * The demo's contacts: the same every time (the demo and the CLI's offline dry run use them),
 * spread over the default ruleset's markets, with and without smartphones, WhatsApp and RCS, a
 * few VIPs and vulnerable people, and marketing consent for some.
 */
export function demoContacts(at: number, n = DEMO_CONTACTS): DemoContact[] {
  const out: DemoContact[] = [];
  for (let k = 0; k < n; k++) {
    const m = MARKETS[k % MARKETS.length] as (typeof MARKETS)[number];
    const digits = String(k).padStart(8, '0');
    const identities: Identity[] = [{ kind: 'phone', value: `${m.prefix}${digits}` }];
    if (k % 2 === 0) identities.push({ kind: 'email', value: `demo${k}@example.com` });
    out.push({
      identities,
      fields: {
        market: m.market,
        timezone: m.timezone,
        smartphone: k % 4 !== 0,
        vulnerable: k % 50 === 7,
        capabilities: { whatsapp: k % 3 === 0, rcs: k % 5 === 0 },
        tags: k % 10 === 0 ? ['vip'] : [],
      },
      // every sixth gave marketing consent (by SMS and by email, having one)
      consent:
        k % 6 === 0
          ? ['sms', ...(k % 2 === 0 ? ['email'] : [])].map((channel) => ({
              channel,
              purpose: 'marketing' as const,
              status: 'granted' as const,
              source: 'import' as const,
              at: new Date(at - 30 * 86_400_000).toISOString(),
            }))
          : [],
    });
  }
  return out;
}
