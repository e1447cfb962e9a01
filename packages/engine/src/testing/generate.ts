import type { ConsentRecord } from '../model/consent.js';
import type { ContactInput } from '../model/contact.js';
import type { DecisionContextInput } from '../model/context.js';
import type { MessageRequestInput } from '../model/message.js';
import { MESSAGE_TYPES, type MessageType } from '../model/vocabulary.js';

/** mulberry32: a small deterministic PRNG, so generated populations are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const MARKETS = ['KE', 'NG', 'IN', 'DE', 'UA', 'PH', 'BR', 'US', 'FR'] as const;
const ZONES: Record<string, string> = {
  KE: 'Africa/Nairobi',
  NG: 'Africa/Lagos',
  IN: 'Asia/Kolkata',
  DE: 'Europe/Berlin',
  UA: 'Europe/Kyiv',
  PH: 'Asia/Manila',
  BR: 'America/Sao_Paulo',
  US: 'America/New_York',
  FR: 'Europe/Paris',
};
const CHANNELS = ['sms', 'whatsapp', 'viber', 'rcs', 'ussd', 'voice', 'email'];
const CATEGORIES = [undefined, undefined, 'collections', 'payment_reminder', 'post_contact_survey', 'review_request'];
const TOPICS = ['billing', 'broadband', 'delivery', undefined];
const EVENT_TYPES = ['ticket.opened', 'ticket.closed', 'complaint.filed', 'invoice.paid', 'call.completed', 'reply.received'];

const iso = (ms: number) => new Date(ms).toISOString();
const KEYWORD_TEMPLATES = [
  'keyword_stop_confirmation',
  'keyword_stop_all_confirmation',
  'keyword_start_confirmation',
  'keyword_help_confirmation',
] as const;

/** A varied contact with its decision context, around `now`. */
export function generateContext(r: () => number, i: number, now: number): DecisionContextInput {
  const market = pick(r, MARKETS);
  const identities: ContactInput['identities'] = [];
  if (r() < 0.92) identities.push({ kind: 'phone', value: `+1555${String(1_000_000 + i).slice(-7)}` });
  if (r() < 0.7) identities.push({ kind: 'email', value: `c${i}@example.com` });
  const engagement: NonNullable<ContactInput['engagement']> = {};
  if (r() < 0.6) {
    const sent = Math.floor(r() * 20);
    const delivered = Math.floor(sent * r());
    engagement.whatsapp = { sent, delivered, read: Math.floor(delivered * r()), replied: 0 };
  }
  const contact: ContactInput = {
    id: `contact-${i}`,
    identities,
    market,
    capabilities: { whatsapp: r() < 0.6, viber: r() < 0.3, rcs: r() < 0.3 },
    engagement,
    tags: r() < 0.2 ? ['vip'] : [],
  };
  if (r() < 0.85) contact.timezone = ZONES[market] as string;
  if (r() < 0.5) contact.smartphone = r() < 0.7;
  if (r() < 0.1) contact.vulnerable = true;
  if (r() < 0.4) contact.lastInbound = { whatsapp: iso(now - Math.floor(r() * 48) * 3_600_000) };
  if (r() < 0.3) contact.readHours = Array.from({ length: 24 }, (_, h) => (h === 7 + (i % 12) ? 5 : Math.floor(r() * 2)));
  if (r() < 0.1) contact.preferences = { service: { channel: pick(r, CHANNELS) }, promotional: { exclude: ['email'] } };

  const consent: ConsentRecord[] = [];
  const nConsent = Math.floor(r() * 4);
  for (let k = 0; k < nConsent; k++) {
    consent.push({
      channel: r() < 0.2 ? '*' : pick(r, CHANNELS),
      purpose: r() < 0.1 ? '*' : pick(r, ['marketing', 'service', 'transactional'] as const),
      status: r() < 0.6 ? 'granted' : 'revoked',
      source: pick(r, ['crm', 'keyword', 'api'] as const),
      at: iso(now - Math.floor(r() * 90) * 86_400_000 - k * 1000),
    });
  }
  const history: NonNullable<DecisionContextInput['history']> = [];
  const nHist = Math.floor(r() * 5);
  for (let k = 0; k < nHist; k++) {
    history.push({
      at: iso(now - Math.floor(r() * 10 * 24) * 3_600_000),
      type: pick(r, MESSAGE_TYPES),
      channel: pick(r, CHANNELS),
      team: pick(r, ['marketing', 'ops', 'support']),
    });
  }
  const events: NonNullable<DecisionContextInput['events']> = [];
  const nEv = Math.floor(r() * 3);
  for (let k = 0; k < nEv; k++) {
    const type = pick(r, EVENT_TYPES);
    const e: NonNullable<DecisionContextInput['events']>[number] = {
      type,
      at: iso(now - Math.floor(r() * 20) * 86_400_000),
      data: { topic: pick(r, ['billing', 'broadband', 'delivery']) },
    };
    if (type === 'invoice.paid') e.object = { type: 'invoice', id: `inv-${i % 3}` };
    if (type.startsWith('ticket')) e.object = { type: 'ticket', id: `t-${i % 2}` };
    events.push(e);
  }
  const ctx: DecisionContextInput = { contact, consent, history, events };
  if (r() < 0.05) ctx.object = { status: 'paid' };
  return ctx;
}

export function generateRequest(r: () => number, type: MessageType): MessageRequestInput {
  const req: MessageRequestInput = { type, team: pick(r, ['marketing', 'ops', 'support', 'regional']) };
  const category = pick(r, CATEGORIES);
  if (category !== undefined) req.category = category;
  const topic = pick(r, TOPICS);
  if (topic !== undefined) req.topic = topic;
  if (r() < 0.5) req.template = `tpl-${type}`;
  if (r() < 0.2) req.priority = 'high';
  if (type === 'rich' || r() < 0.1) req.rich = true;
  if (r() < 0.3) req.object = { type: 'invoice', id: `inv-${Math.floor(r() * 3)}` };
  // the reply to a contact's own STOP, START or HELP, as the app's inbound keywords ask for it
  if (type === 'transactional' && r() < 0.1) {
    req.workflow = 'consent-keywords';
    req.template = pick(r, KEYWORD_TEMPLATES);
  }
  return req;
}

export interface GeneratedCase {
  request: MessageRequestInput;
  context: DecisionContextInput;
  now: number;
}

/** `contacts` contacts × every message type, at instants spread over a week (all hours of day). */
export function generateCases(contacts: number, seed = 42, base = Date.parse('2026-11-23T00:00:00Z')): GeneratedCase[] {
  const r = rng(seed);
  const out: GeneratedCase[] = [];
  for (let i = 0; i < contacts; i++) {
    const now = base + Math.floor(r() * 7 * 24 * 4) * 15 * 60_000;
    const context = generateContext(r, i, now);
    for (const type of MESSAGE_TYPES) out.push({ request: generateRequest(r, type), context, now });
  }
  return out;
}
