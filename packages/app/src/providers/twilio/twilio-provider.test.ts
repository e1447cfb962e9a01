import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contractMessage } from '../provider-contract.js';
import { FakeTwilio } from './testing/fake-twilio.js';
import { TwilioProvider, type TwilioSettings } from './twilio-provider.js';

const fake = new FakeTwilio(`AC${'2'.repeat(32)}`, 'twilio-auth-token-0123456789');
const HX = `HX${'a'.repeat(32)}`;
const MG = `MG${'b'.repeat(32)}`;
let providers: TwilioProvider[] = [];
beforeAll(() => fake.start());
afterEach(async () => {
  await Promise.all(providers.map((p) => p.stop()));
  providers = [];
  fake.rules = [];
  fake.requests.length = 0;
});
afterAll(() => fake.stop());

function provider(o: Partial<TwilioSettings> = {}) {
  const p = new TwilioProvider(
    {
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      apiBase: fake.url,
      publicUrl: 'https://signalbox.example.com',
      smsFrom: ['+15005550006', '+15005550007', '+15005550008'],
      whatsappFrom: '+15005550009',
      contentSids: { 'appointment_confirm:en': HX },
      mps: 100,
      machineDetection: false,
      maxRetries: 0,
      ...o,
    },
    () => ({ description: 'Your appointment', marketing: false }),
  );
  providers.push(p);
  return p;
}
const template = (name: string) => ({
  kind: 'rich' as const,
  body: 'Your appointment is tomorrow at 10:00',
  fallbackText: 'Appointment tomorrow 10:00',
  buttons: [{ id: 'CONFIRM', title: 'Confirm' }],
  whatsappTemplate: { name, language: 'en', parameters: ['Ana', 'tomorrow 10:00'] },
});

describe('Twilio: WhatsApp', () => {
  it('an approved template goes as its Content SID with numbered variables, through the Messaging Service', async () => {
    const r = await provider({ messagingServiceSid: MG }).send(
      contractMessage({ channel: 'whatsapp', to: '+254700000001', rendered: template('appointment_confirm') }),
    );
    expect(r.status).toBe('accepted');
    const p = fake.messages()[0]?.params;
    expect(p?.get('To')).toBe('whatsapp:+254700000001');
    expect(p?.get('ContentSid')).toBe(HX);
    expect(JSON.parse(p?.get('ContentVariables') ?? '')).toEqual({ 1: 'Ana', 2: 'tomorrow 10:00' });
    expect(p?.get('MessagingServiceSid')).toBe(MG);
    expect(p?.has('Body')).toBe(false);
  });

  it('a template without a Content SID is refused before calling Twilio: template required', async () => {
    const r = await provider().send(contractMessage({ channel: 'whatsapp', to: '+254700000001', rendered: template('unknown_one') }));
    expect(r).toMatchObject({ status: 'failed', retryable: false, outcome: 'template-required' });
    expect(fake.messages()).toHaveLength(0);
  });

  it('inside the window: the rich body free-form, from the WhatsApp sender, with its media', async () => {
    await provider().send(
      contractMessage({
        channel: 'whatsapp',
        to: '+254700000001',
        rendered: { kind: 'rich', body: 'Here is your receipt', fallbackText: 'Receipt', mediaUrl: 'https://cdn.example.com/r.png' },
      }),
    );
    const p = fake.messages()[0]?.params;
    expect([p?.get('From'), p?.get('Body'), p?.getAll('MediaUrl')]).toEqual([
      'whatsapp:+15005550009',
      'Here is your receipt',
      ['https://cdn.example.com/r.png'],
    ]);
  });
});

describe('Twilio: answers and errors', () => {
  it('maps Twilio’s error codes to outcomes', async () => {
    fake.rules = [
      { to: '1$', error: 21610 },
      { to: '2$', error: 21614 },
      { to: '3$', error: 63016 },
      { to: '4$', error: 30007 },
    ];
    const p = provider();
    const send = (to: string) => p.send(contractMessage({ channel: 'sms', to }));
    expect(await send('+254700000001')).toMatchObject({ status: 'failed', retryable: false, outcome: 'consent-revoked', error: /21610/ });
    expect(await send('+254700000002')).toMatchObject({ status: 'failed', retryable: false, outcome: 'unreachable' });
    expect(await send('+254700000003')).toMatchObject({ status: 'failed', retryable: false, outcome: 'template-required' });
    const other = await send('+254700000004');
    expect(other).toMatchObject({ status: 'failed', retryable: false, error: 'twilio answered 400 (30007)' });
    expect(other.status === 'failed' ? other.outcome : 'accepted').toBeUndefined();
  });

  it('429s are retried with backoff by the client; past its retries the send is throttled (retryable)', async () => {
    fake.throttle(2);
    expect((await provider({ maxRetries: 3 }).send(contractMessage({ channel: 'sms', to: '+254700000005' }))).status).toBe('accepted');
    expect(fake.messages()).toHaveLength(3);
    fake.throttle(1);
    expect(await provider({ maxRetries: 0 }).send(contractMessage({ channel: 'sms', to: '+254700000005' }))).toMatchObject({
      status: 'failed',
      retryable: true,
    });
  });

  it('a recipient always gets the same sender; recipients spread over the senders', () => {
    const p = provider();
    const senders = Array.from({ length: 60 }, (_, i) => p.smsSender(`+2547000${String(i).padStart(5, '0')}`));
    expect(new Set(senders).size).toBe(3);
    expect(p.smsSender('+254700000001')).toBe(p.smsSender('+254700000001'));
  });

  it('sends with the account’s credentials and our status callback', async () => {
    await provider().send(contractMessage({ channel: 'sms', to: '+254700000006' }));
    const r = fake.messages()[0];
    expect(r?.user).toBe(fake.accountSid);
    expect(r?.params.get('StatusCallback')).toBe('https://signalbox.example.com/hooks/twilio/status');
    expect(r?.params.get('Body')).toBe('Your appointment');
  });
});
