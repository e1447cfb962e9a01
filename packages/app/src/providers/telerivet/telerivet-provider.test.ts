import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contractMessage } from '../provider-contract.js';
import { TelerivetProvider } from './telerivet-provider.js';
import { FakeTelerivet } from './testing/fake-telerivet.js';

const fake = new FakeTelerivet('telerivet-api-key-0123456789', 'PJtest');
let p: TelerivetProvider;
beforeAll(async () => {
  await fake.start();
  p = new TelerivetProvider(
    {
      apiKey: fake.apiKey,
      projectId: fake.projectId,
      apiBase: fake.url,
      publicUrl: 'https://signalbox.example.com/',
      statusSecret: 'status-secret-0123456789',
      routeId: 'PNsms',
      chatRoutes: { whatsapp: 'PNwa' },
      perSecond: 50,
    },
    () => ({ description: 'Your parcel is on its way', marketing: false }),
  );
});
afterEach(() => {
  fake.sent.length = 0;
  fake.rules = [];
});
afterAll(async () => {
  await p.stop();
  await fake.stop();
});

describe('Telerivet', () => {
  it('SMS on the route, with our status URL and status secret', async () => {
    expect((await p.send(contractMessage({ channel: 'sms', to: '+254700000001' }))).status).toBe('accepted');
    expect(fake.sent[0]).toMatchObject({
      to_number: '+254700000001',
      message_type: 'sms',
      route_id: 'PNsms',
      content: 'Your parcel is on its way',
      status_url: 'https://signalbox.example.com/hooks/telerivet/status',
      status_secret: 'status-secret-0123456789',
    });
  });

  it('a call speaks the script in its language; a USSD menu goes with its options', async () => {
    await p.send(
      contractMessage({
        channel: 'voice',
        to: '+254700000001',
        rendered: { kind: 'voice', script: 'Your payment is late', language: 'en-KE', voice: 'female' },
      }),
    );
    await p.send(
      contractMessage({
        channel: 'ussd',
        to: '+254700000001',
        rendered: {
          kind: 'ussd-menu',
          text: 'Pay now?',
          options: [
            { key: '1', label: 'Yes' },
            { key: '2', label: 'Later' },
          ],
        },
      }),
    );
    expect(fake.sent[0]).toMatchObject({ message_type: 'call', content: 'Your payment is late', tts_lang: 'en-KE', tts_voice: 'female' });
    expect(fake.sent[1]).toMatchObject({ message_type: 'ussd', content: 'Pay now?\n1. Yes\n2. Later' });
  });

  it('WhatsApp as a chat message through its chat-app route; Viber has none here', async () => {
    await p.send(
      contractMessage({
        channel: 'whatsapp',
        to: '+254700000001',
        rendered: { kind: 'rich', body: 'Track it here', fallbackText: 'Track it' },
      }),
    );
    expect(fake.sent[0]).toMatchObject({ message_type: 'chat', route_id: 'PNwa', content: 'Track it here' });
    expect(await p.send(contractMessage({ channel: 'viber', to: '+254700000001' }))).toMatchObject({ status: 'failed', retryable: false });
  });

  it('a number Telerivet refuses (invalid_param on to_number) is unreachable', async () => {
    fake.rules = [{ to: '0009$', invalid: true }];
    expect(await p.send(contractMessage({ channel: 'sms', to: '+254700000009' }))).toMatchObject({
      status: 'failed',
      retryable: false,
      outcome: 'unreachable',
      error: 'telerivet invalid_param (to_number): Invalid phone number',
    });
  });
});
