import { describe, expect, it } from 'vitest';
import type { ContactInput } from '../model/contact.js';
import { decideParsed, parseDecisionContext, parseMessageRequest } from '../pipeline/decide.js';
import { loadRuleset, validateRuleset } from '../ruleset/compile.js';
import type { Template } from '../ruleset/schema.js';
import { defaultCompiledRuleset, defaultRulesetDocument } from '../testing/default-ruleset.js';
import { smsSegments } from './segments.js';
import { languageChain, selectVariant } from './select.js';

type Doc = {
  templates: Record<string, Record<string, unknown>>;
  rules: Array<{ name: string; event: { params: Record<string, unknown> } }>;
};
const base = (): Doc => structuredClone(defaultRulesetDocument) as Doc;
function problems(doc: unknown) {
  const r = validateRuleset(doc);
  if (r.ok) throw new Error('expected the ruleset to be invalid');
  return r.problems;
}

describe('template content in the ruleset', () => {
  it('the default ruleset carries content for the seed stories', () => {
    const t = defaultCompiledRuleset().source.templates;
    expect(Object.keys(t.appointment_confirm_request?.content?.rich ?? {})).toEqual(['en', 'sw']);
    expect(t.appointment_confirm_request?.content?.rich?.en?.buttons?.map((b) => b.id)).toEqual(['CONFIRM', 'RESCHEDULE']);
    expect(t.payment_reminder_call?.content?.voice?.en?.script).toMatch(/invoice/);
    expect(t.cart_reminder?.content?.email?.en?.html).toMatch(/Unsubscribe/);
    expect(t.otp_code?.variables).toEqual(['code']);
  });

  it('rejects malformed variants at their exact pointer', () => {
    const doc = base();
    const content = doc.templates.appointment_confirm_request?.content as Record<string, Record<string, Record<string, unknown>>>;
    (content.rich?.en as { buttons: unknown[] }).buttons = [{ id: 'confirm', title: 'Confirm' }];
    (content.text as Record<string, unknown>).english = { text: 'hi' };
    (content.voice as unknown) = { en: { text: 'a voice variant has a script' } };
    const ps = problems(doc);
    expect(ps.find((p) => p.path === '/templates/appointment_confirm_request/content/rich/en/buttons/0/id')?.message).toMatch(/upper-case/);
    expect(ps.find((p) => p.path.startsWith('/templates/appointment_confirm_request/content/text'))?.message).toMatch(/key/);
    expect(ps.some((p) => p.path.startsWith('/templates/appointment_confirm_request/content/voice/en'))).toBe(true);
  });

  it('needs every kind in the template’s fallback language', () => {
    const doc = base();
    const friendly = doc.templates.payment_reminder_friendly as { content: { text: Record<string, unknown> } };
    delete friendly.content.text.en;
    expect(problems(doc)).toEqual([
      { path: '/templates/payment_reminder_friendly/content/text', message: 'has no variant in the fallback language "en"' },
    ]);
  });

  it('rejects a WhatsApp template mapping that is not an approved-template name', () => {
    const doc = base();
    const rich = (doc.templates.payment_reminder_friendly as { content: { rich: { en: { whatsappTemplate: { name: string } } } } }).content
      .rich.en;
    rich.whatsappTemplate.name = 'Payment Reminder';
    expect(problems(doc).map((p) => p.path)).toEqual(['/templates/payment_reminder_friendly/content/rich/en/whatsappTemplate/name']);
  });
});

describe('language chain and variant selection', () => {
  const t = defaultCompiledRuleset().source.templates.payment_reminder_friendly as Template;

  it('tries the locale, its base language, then the fallback', () => {
    expect(languageChain('sw-KE', 'en')).toEqual(['sw-KE', 'sw', 'en']);
    expect(languageChain('pt_br', 'en')).toEqual(['pt-BR', 'pt', 'en']);
    expect(languageChain(undefined, 'en')).toEqual(['en']);
    expect(languageChain('en-GB', 'en')).toEqual(['en-GB', 'en']);
  });

  it('picks the contact’s language, falls back along the chain, and says when it fell back', () => {
    expect(selectVariant(t, 'text', 'sw-KE')).toMatchObject({ kind: 'text', language: 'sw', fellBack: false });
    expect(selectVariant(t, 'text', 'fr-FR')).toMatchObject({ kind: 'text', language: 'en', fellBack: true });
    // a locale named like what every object inherits is no language of the template
    for (const locale of ['constructor', 'constructor-KE', '__proto__', 'toString'])
      expect(selectVariant(t, 'text', locale), locale).toMatchObject({ kind: 'text', language: 'en', fellBack: true });
    expect(selectVariant(t, 'text', undefined)).toMatchObject({ language: 'en', fellBack: false });
  });

  it('falls back between kinds a channel can show (USSD → text, text+link → text), never for voice or email', () => {
    const firm = defaultCompiledRuleset().source.templates.payment_reminder_firm as Template;
    expect(selectVariant(firm, 'ussd-menu', 'en')?.kind).toBe('text');
    expect(selectVariant(firm, 'text+link', 'en')?.kind).toBe('text');
    expect(selectVariant(firm, 'voice', 'en')).toBeNull();
    expect(selectVariant(firm, 'email', 'en')).toBeNull();
  });
});

function contact(over: Partial<ContactInput> = {}): ContactInput {
  return {
    id: 'c-1',
    market: 'KE',
    timezone: 'Africa/Nairobi',
    smartphone: true,
    capabilities: { viber: true },
    identities: [{ kind: 'phone', value: '+254700000001' }],
    ...over,
  };
}
const NOW = Date.parse('2026-11-23T07:00:00Z');

describe('the cost stage prices this message: SMS segments × the price per segment', () => {
  // service messages go [sms | viber]: equivalent channels, cheapest first (KE: sms 0.008, viber 0.01)
  const doc = base();
  const rule = doc.rules.find((r) => r.name === 'service-whatsapp-sms');
  if (rule) rule.event.params.candidates = [['sms', 'viber']];
  const rs = loadRuleset(doc);
  const request = parseMessageRequest({ type: 'service', template: 'payment_reminder_friendly' });
  const ctx = parseDecisionContext({ contact: contact() });

  it('one GSM-7 segment: SMS is the cheaper, and the reasons and plan say so', () => {
    const d = decideParsed(request, ctx, rs, NOW, { segments: { text: smsSegments('Your invoice is overdue.') } });
    expect(d.plan.map((s) => s.channel)).toEqual(['sms', 'viber']);
    expect(d.plan[0]).toMatchObject({ estimatedCost: 0.008, segments: { encoding: 'GSM-7', segments: 1 } });
    expect(d.reasons.find((r) => r.code === 'segments')?.message).toBe('sms: 1 segment (GSM-7, 24 characters) × 0.008 = 0.008 USD');
  });

  it('an emoji makes it UCS-2 in two segments: Viber becomes the cheaper', () => {
    const text = `${'Your invoice INV-2041 is overdue, please pay at https://pay.example.com/i/2041 '.repeat(1)} 🙏`;
    const d = decideParsed(request, ctx, rs, NOW, { segments: { text: smsSegments(text) } });
    expect(d.plan.map((s) => s.channel)).toEqual(['viber', 'sms']);
    expect(d.plan[1]).toMatchObject({ estimatedCost: 0.016, segments: { encoding: 'UCS-2', segments: 2 } });
    expect(d.reasons.find((r) => r.code === 'ordered_by_cost')?.message).toBe(
      'equivalent channels by price: viber 0.01 < sms 0.016 (reordered)',
    );
  });

  it('without content facts an SMS counts one segment, as before', () => {
    const d = decideParsed(request, ctx, rs, NOW);
    expect(d.plan[0]?.segments).toBeUndefined();
    expect(d.reasons.some((r) => r.code === 'segments')).toBe(false);
  });
});

describe('WhatsApp outside the 24 h window: only a variant mapped to an approved template', () => {
  const wa = contact({ capabilities: { whatsapp: true }, lastInbound: {} });
  const planOf = (rs: ReturnType<typeof loadRuleset>, template: string | undefined) =>
    decideParsed(
      parseMessageRequest({ type: 'service', ...(template ? { template } : {}) }),
      parseDecisionContext({ contact: wa }),
      rs,
      NOW,
    );

  it('sends the mapped template outside the window', () => {
    expect(planOf(defaultCompiledRuleset(), 'payment_reminder_friendly').plan[0]?.channel).toBe('whatsapp');
  });

  it('refuses a template with content but no approved mapping, and free-form text', () => {
    const doc = base();
    const rich = (doc.templates.payment_reminder_friendly as { content: { rich: Record<string, Record<string, unknown>> } }).content.rich;
    for (const v of Object.values(rich)) delete v.whatsappTemplate;
    const d = planOf(loadRuleset(doc), 'payment_reminder_friendly');
    expect(d.plan[0]?.channel).not.toBe('whatsapp');
    expect(d.reasons.find((r) => r.channel === 'whatsapp')?.message).toMatch(
      /sends only approved templates; payment_reminder_friendly \(en\)/,
    );
    expect(planOf(defaultCompiledRuleset(), undefined).reasons.find((r) => r.channel === 'whatsapp')?.code).toBe('session_window');
  });

  it('inside the window free-form content goes', () => {
    const d = decideParsed(
      parseMessageRequest({ type: 'service' }),
      parseDecisionContext({ contact: { ...wa, lastInbound: { whatsapp: '2026-11-23T06:00:00Z' } } }),
      defaultCompiledRuleset(),
      NOW,
    );
    expect(d.plan[0]?.channel).toBe('whatsapp');
  });
});
