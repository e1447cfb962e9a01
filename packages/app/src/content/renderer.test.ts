import { DEFAULT_RULESET, loadRuleset, type RenderedContent } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { ContentRenderer } from './renderer.js';
import { loadRulesetChecked, templateProblems, validateRulesetChecked } from './template-check.js';

const rs = loadRuleset(DEFAULT_RULESET);
const renderer = new ContentRenderer();
const amina = { id: 'c-1', locale: 'sw-KE', timezone: 'Africa/Nairobi', market: 'KE', attributes: { firstName: 'Amina' } };
const john = { id: 'c-2', locale: 'en-US', timezone: 'America/New_York', market: 'US', attributes: {} };
const invoice = { type: 'invoice', id: 'INV-2041' };

function rendered(r: ReturnType<ContentRenderer['forChannel']>): RenderedContent {
  if (r === null || !r.ok) throw new Error(`expected content, got ${JSON.stringify(r)}`);
  return r.rendered;
}

describe('rendering a template for a channel', () => {
  it('renders SMS text in the contact’s language, with its segments', () => {
    const r = renderer.forChannel(rs, 'sms', 'text', {
      request: { template: 'payment_reminder_friendly', type: 'service', variables: { amount: 1250, currency: 'KES' }, object: invoice },
      contact: amina,
    });
    expect(r).toMatchObject({ ok: true, language: 'sw', kind: 'text', fellBack: false });
    expect(rendered(r)).toEqual({
      kind: 'text',
      text: 'Habari Amina, ankara INV-2041 ya 1250 KES imechelewa. Lipa hapa: https://pay.example.com/i/INV-2041',
      segments: { encoding: 'GSM-7', segments: 1, characters: 99 },
    });
  });

  it('an optional variable left out takes the stand-in its content names, never a hole', () => {
    const r = rendered(
      renderer.forChannel(rs, 'sms', 'text', {
        request: { template: 'payment_reminder_friendly', type: 'service', object: invoice },
        contact: john,
      }),
    );
    expect(r.kind === 'text' && r.text).toBe(
      'Hi there, a friendly reminder: invoice INV-2041 for the balance is overdue. Pay at https://pay.example.com/i/INV-2041 - reply HELP for help.',
    );
  });

  it('renders rich content with Confirm/Reschedule and the approved WhatsApp template, times in the contact’s zone', () => {
    const target = {
      request: {
        template: 'appointment_confirm_request',
        type: 'rich' as const,
        variables: { startsAt: '2026-11-26T07:00:00Z' },
        object: { type: 'appointment', id: 'a-1' },
      },
      contact: amina,
    };
    expect(rendered(renderer.forChannel(rs, 'whatsapp', 'rich', target))).toEqual({
      kind: 'rich',
      body: 'Miadi yako ni Thu 26 Nov, 10:00. Utaweza kufika?',
      buttons: [
        { id: 'CONFIRM', title: 'Thibitisha' },
        { id: 'RESCHEDULE', title: 'Badilisha' },
      ],
      fallbackText: 'Miadi yako ni Thu 26 Nov, 10:00. Jibu CONFIRM au RESCHEDULE.',
      whatsappTemplate: { name: 'appointment_confirm', language: 'sw', parameters: ['Thu 26 Nov, 10:00'] },
    });
    // the same message adapted for SMS: text plus the link, in New York time for John
    const sms = rendered(renderer.forChannel(rs, 'sms', 'text+link', { ...target, contact: john }));
    expect(sms.kind === 'text' && sms.text).toBe(
      'Your appointment is on Thu 26 Nov, 02:00. Reply CONFIRM or RESCHEDULE, or open https://book.example.com/a/a-1',
    );
  });

  it('gives WhatsApp the variant mapped to its approved template even for a plain-text step', () => {
    const r = rendered(
      renderer.forChannel(rs, 'whatsapp', 'text', {
        request: { template: 'payment_reminder_firm', type: 'service', object: invoice },
        contact: john,
      }),
    );
    expect(r.kind).toBe('rich');
    expect(r.kind === 'rich' && r.whatsappTemplate).toEqual({
      name: 'payment_reminder_firm',
      language: 'en',
      parameters: ['INV-2041', 'the balance'],
    });
  });

  it('renders a voice script with its language, a USSD menu, and marketing email with escaped variables', () => {
    const call = rendered(
      renderer.forChannel(rs, 'voice', 'voice', {
        request: { template: 'payment_reminder_call', type: 'urgent', object: invoice },
        contact: amina,
      }),
    );
    expect(call).toMatchObject({ kind: 'voice', language: 'sw', voice: 'female' });
    const menu = rendered(
      renderer.forChannel(rs, 'ussd', 'ussd-menu', {
        request: { template: 'payment_reminder_friendly', type: 'service', object: invoice },
        contact: john,
      }),
    );
    expect(menu).toEqual({
      kind: 'ussd-menu',
      text: 'Invoice INV-2041 (balance) is overdue.',
      options: [
        { key: '1', label: 'Pay now' },
        { key: '2', label: 'Pay later' },
        { key: '3', label: 'Help' },
      ],
    });
    const mail = rendered(
      renderer.forChannel(rs, 'email', 'rich', {
        request: { template: 'cart_reminder', type: 'promotional', variables: { unsubscribeUrl: 'https://shop.example.com/u/77' } },
        contact: { ...john, attributes: { firstName: '<script>x</script>' } },
      }),
    );
    expect(mail.kind).toBe('email');
    if (mail.kind !== 'email') return;
    expect(mail.marketing).toBe(true);
    expect(mail.html).toContain('Hi &lt;script&gt;x&lt;/script&gt;,');
    expect(mail.html).toContain('<a href="https://shop.example.com/u/77">Unsubscribe</a>');
    expect(mail.text).toContain('Unsubscribe: https://shop.example.com/u/77');
  });

  it('refuses, with the reason, a required variable left out, a variable the content reads strictly, a kind it lacks', () => {
    expect(renderer.forChannel(rs, 'sms', 'text', { request: { template: 'otp_code', type: 'otp' }, contact: john })).toEqual({
      ok: false,
      reason: 'template otp_code needs variable code',
    });
    // object.id is read without a stand-in: a message about no object is refused, not sent with a hole
    expect(
      renderer.forChannel(rs, 'sms', 'text', { request: { template: 'payment_reminder_friendly', type: 'service' }, contact: john }),
    ).toEqual({
      ok: false,
      reason: 'template payment_reminder_friendly (text, en): undefined variable: object, line:1, col:80',
    });
    expect(
      renderer.forChannel(rs, 'voice', 'voice', {
        request: { template: 'payment_reminder_firm', type: 'service', object: invoice },
        contact: john,
      }),
    ).toEqual({ ok: false, reason: 'template payment_reminder_firm has no voice content' });
  });

  it('leaves a template without content to the provider (null)', () => {
    // a template the provider holds (an approved one): declared, with no content of ours
    const doc = structuredClone(DEFAULT_RULESET) as { templates: Record<string, unknown> };
    doc.templates.provider_held = { messageType: 'service', description: 'Held by the provider.' };
    const withHeld = loadRuleset(doc);
    expect(
      renderer.forChannel(withHeld, 'sms', 'text', { request: { template: 'provider_held', type: 'service' }, contact: john }),
    ).toBeNull();
    expect(renderer.facts(withHeld, { request: { template: 'provider_held', type: 'service' }, contact: john })).toBeNull();
  });

  it('gives the cost stage the segments of the text variants', () => {
    const facts = renderer.facts(rs, { request: { template: 'otp_code', type: 'otp', variables: { code: '482913' } }, contact: john });
    expect(facts).toEqual({
      segments: {
        text: { encoding: 'GSM-7', segments: 1, characters: 75 },
        'text+link': { encoding: 'GSM-7', segments: 1, characters: 75 },
      },
    });
  });
});

describe('template content checked at publish', () => {
  const doc = () =>
    structuredClone(DEFAULT_RULESET) as {
      templates: Record<string, { variables?: string[]; content: Record<string, Record<string, Record<string, unknown>>> }>;
    };

  it('accepts the default ruleset', () => {
    expect(templateProblems(rs.source)).toEqual([]);
    expect(validateRulesetChecked(DEFAULT_RULESET).ok).toBe(true);
  });

  it('names the field reading an undeclared variable, a field that does not parse, a declared variable never used', () => {
    const d = doc();
    const otp = d.templates.otp_code as { variables: string[]; content: Record<string, Record<string, Record<string, unknown>>> };
    (otp.content.text as Record<string, Record<string, unknown>>).en = { text: '{{ code }} for {{ accountNumber }}' };
    (otp.content.text as Record<string, Record<string, unknown>>).sw = { text: '{{ code ' };
    otp.variables = ['code', 'unused'];
    const v = validateRulesetChecked(d);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems).toEqual([
      {
        path: '/templates/otp_code/content/text/en/text',
        message: 'uses variable "accountNumber", which template otp_code does not declare in variables or optionalVariables',
      },
      { path: '/templates/otp_code/content/text/sw/text', message: expect.stringMatching(/^does not parse as Liquid: /) },
      { path: '/templates/otp_code/variables/1', message: 'variable "unused" is never used by the content' },
    ]);
    expect(() => loadRulesetChecked(d)).toThrow(/RULES_INVALID|ruleset is invalid/);
  });

  it('a template that would take in another file or template is refused by the tag’s name, not as a file that was not found', () => {
    for (const tag of ['include', 'render', 'layout']) {
      const d = doc();
      const otp = d.templates.otp_code as { content: Record<string, Record<string, Record<string, unknown>>> };
      (otp.content.text as Record<string, Record<string, unknown>>).en = { text: `{{ code }} {% ${tag} "../../README.md" %}` };
      const v = validateRulesetChecked(d);
      expect(v.ok, tag).toBe(false);
      if (v.ok) continue;
      expect(v.problems, tag).toEqual([
        {
          path: '/templates/otp_code/content/text/en/text',
          message: expect.stringMatching(
            new RegExp(
              `^does not parse as Liquid: \\{% ${tag} %\\} is not available: a template's content cannot take in other files or templates`,
            ),
          ),
        },
      ]);
      expect(JSON.stringify(v.problems)).not.toMatch(/ENOENT|lookup/);
    }
  });
});
