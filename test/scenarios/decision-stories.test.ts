/**
 * The stories of shared/SCENARIOS.md that a decision alone answers, told through the HTTP preview
 * of the app running the default ruleset (real Express, real engine, supertest).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createSystem, openSqlite, RulesHolder, Store, TestClock } from '@signalbox/app';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';

const KEY = 'scenario-agent-key-0123456789';
const system = createSystem({
  store: new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-stories-')), 'signalbox.db'))),
  // the default ruleset, with the provider-side templates these stories name declared (a preview,
  // as /messages, refuses a template the ruleset does not declare)
  rules: new RulesHolder(
    loadRuleset({
      ...(DEFAULT_RULESET as Record<string, unknown>),
      templates: {
        ...(DEFAULT_RULESET as { templates: Record<string, unknown> }).templates,
        order_carousel: { messageType: 'rich', rich: true, description: 'Your order, as a carousel' },
        vaccination_due: { messageType: 'service', description: 'A vaccination is due' },
        bill_ready: { messageType: 'service', description: 'Your bill is ready' },
      },
    }),
  ),
  clock: new TestClock(new Date('2026-11-23T07:00:00Z')),
  apiKeys: [{ name: 'agent', role: 'agent', secret: KEY }],
  log: createLogger('silent'),
  sandboxSecret: 'stories-sandbox-secret-0123456789',
});
const app = system.app;
afterAll(() => system.close());

interface Step {
  channel: string;
  mode: string;
  content: string;
  estimatedCost: number;
}
interface Decision {
  outcome: string;
  sendAt: string | null;
  plan: Step[];
  reasons: Array<{ code: string; rule?: string; channel?: string; message: string }>;
}

async function preview(body: Record<string, unknown>): Promise<Decision> {
  const res = await request(app).post('/api/v1/decisions/preview').set('authorization', `Bearer ${KEY}`).send(body).expect(200);
  return res.body.decision as Decision;
}

const amina = {
  id: 'amina',
  market: 'KE',
  timezone: 'Africa/Nairobi',
  smartphone: true,
  identities: [
    { kind: 'phone', value: '+254700000001' },
    { kind: 'email', value: 'amina@example.com' },
  ],
  capabilities: { whatsapp: true },
};
const optedIn = [
  { channel: 'email', purpose: 'marketing', status: 'granted', source: 'crm', at: '2026-01-01T00:00:00Z' },
  { channel: 'whatsapp', purpose: 'marketing', status: 'granted', source: 'crm', at: '2026-01-01T00:00:00Z' },
];

describe('2. Promo after a complaint', () => {
  it('holds the promo while the ticket is open and for 14 days after the complaint, and says why', async () => {
    const events = [
      { type: 'complaint.filed', at: '2026-11-20T08:00:00Z' },
      { type: 'ticket.opened', at: '2026-11-20T08:00:00Z', object: { type: 'ticket', id: 'T-1' } },
    ];
    const held = await preview({ message: { type: 'promotional', team: 'marketing' }, contact: amina, consent: optedIn, events });
    expect(held.outcome).toBe('suppress');
    expect(held.reasons.filter((r) => r.code === 'suppressed').map((r) => r.rule)).toEqual(['open-ticket-no-promo', 'complaint-cooloff']);
    const closed = [...events, { type: 'ticket.closed', at: '2026-11-21T08:00:00Z', object: { type: 'ticket', id: 'T-1' } }];
    const stillCooling = await preview({ message: { type: 'promotional' }, contact: amina, consent: optedIn, events: closed });
    expect(stillCooling.reasons.filter((r) => r.code === 'suppressed').map((r) => r.rule)).toEqual(['complaint-cooloff']);
    const later = await preview({
      message: { type: 'promotional' },
      contact: amina,
      consent: optedIn,
      events: closed,
      at: '2026-12-05T07:00:00Z',
    });
    expect(later.outcome).toBe('send');
  });
});

describe('5. Rich message, basic phone', () => {
  it('RCS where the handset supports it, WhatsApp where not, SMS with a link where neither', async () => {
    const order = { type: 'rich', rich: true, template: 'order_carousel' };
    const rcs = await preview({
      message: order,
      contact: { ...amina, market: 'IN', timezone: 'Asia/Kolkata', capabilities: { rcs: true } },
      at: '2026-11-23T06:00:00Z',
    });
    expect(rcs.plan.map((s) => `${s.channel}/${s.content}`)).toEqual(['rcs/rich', 'sms/text+link']);
    const wa = await preview({ message: order, contact: amina });
    expect(wa.plan.map((s) => `${s.channel}/${s.content}`)).toEqual(['whatsapp/rich', 'sms/text+link']);
    const basic = await preview({ message: order, contact: { ...amina, capabilities: {} } });
    expect(basic.plan.map((s) => `${s.channel}/${s.content}`)).toEqual(['sms/text+link']);
  });
});

describe('6. One opt-out, every team', () => {
  it('stop all stops marketing everywhere, for every team; the OTP still flows', async () => {
    const stopAll = [...optedIn, { channel: '*', purpose: 'marketing', status: 'revoked', source: 'keyword', at: '2026-11-22T10:00:00Z' }];
    for (const team of ['marketing', 'regional', 'support']) {
      const promo = await preview({ message: { type: 'promotional', team }, contact: amina, consent: stopAll });
      expect(promo.outcome).toBe('suppress');
    }
    const otp = await preview({ message: { type: 'otp' }, contact: amina, consent: stopAll });
    expect(otp.outcome).toBe('send');
    expect(otp.plan[0]?.channel).toBe('sms');
  });
});

describe('9. Markets and handsets', () => {
  it('one vaccination reminder: USSD/SMS for a rural feature phone, WhatsApp for a smartphone, Viber first in Ukraine', async () => {
    const reminder = { type: 'service', template: 'vaccination_due' };
    const rural = await preview({ message: reminder, contact: { ...amina, smartphone: false, capabilities: {} } });
    expect(rural.plan.map((s) => s.channel)).toEqual(['ussd', 'sms']);
    const urban = await preview({ message: reminder, contact: amina });
    expect(urban.plan.map((s) => s.channel)).toEqual(['whatsapp', 'sms']);
    const kyiv = await preview({
      message: reminder,
      contact: { ...amina, market: 'UA', timezone: 'Europe/Kyiv', capabilities: { viber: true, whatsapp: true } },
      at: '2026-11-23T09:00:00Z',
    });
    expect(kyiv.plan[0]?.channel).toBe('viber');
  });
});

describe('11. Too many teams', () => {
  it('the shared budget lets the first promo of the day through and defers the others, naming who was held back', async () => {
    const history = [{ at: '2026-11-23T05:30:00Z', type: 'promotional', channel: 'email', team: 'marketing' }];
    const ops = await preview({ message: { type: 'promotional', team: 'operations' }, contact: amina, consent: optedIn, history });
    expect(ops.outcome).toBe('defer');
    expect(ops.reasons.find((r) => r.code === 'cap_exceeded')?.message).toMatch(/sent by marketing.*held back for team operations/);
    const otp = await preview({ message: { type: 'otp', team: 'operations' }, contact: amina, history });
    expect(otp.outcome).toBe('send');
  });
});

describe('12. Quiet hours and the best hour', () => {
  it('a promo at 22:30 waits for the contact’s usual reading hour; an OTP at 03:00 goes at once', async () => {
    const reader = { ...amina, readHours: Array.from({ length: 24 }, (_, h) => (h === 9 ? 7 : 0)) };
    const promo = await preview({ message: { type: 'promotional' }, contact: reader, consent: optedIn, at: '2026-11-23T19:30:00Z' });
    expect(promo.outcome).toBe('defer');
    expect(promo.sendAt).toBe('2026-11-24T06:00:00.000Z'); // 09:00 in Nairobi
    const otp = await preview({ message: { type: 'otp' }, contact: reader, at: '2026-11-23T00:00:00Z' });
    expect(otp.outcome).toBe('send');
    expect(otp.sendAt).toBe('2026-11-23T00:00:00.000Z');
  });
});

describe('13. Cheapest adequate route', () => {
  it('two messengers would do: the cheaper goes first and its cost is recorded', async () => {
    const both = { ...amina, capabilities: { whatsapp: true, viber: true } };
    const d = await preview({ message: { type: 'service', template: 'bill_ready' }, contact: both });
    expect(d.plan.map((s) => [s.channel, s.estimatedCost])).toEqual([
      ['viber', 0.01],
      ['whatsapp', 0.012],
      ['sms', 0.008],
    ]);
  });
});

describe('14. Sensitive case', () => {
  it('a collections message to a contact flagged vulnerable waits for a person', async () => {
    const d = await preview({ message: { type: 'service', category: 'collections' }, contact: { ...amina, vulnerable: true } });
    expect(d.outcome).toBe('review');
    expect(d.reasons.find((r) => r.code === 'review')?.message).toBe('collections message to a vulnerable contact');
  });
});
