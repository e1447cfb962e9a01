import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../logger.js';
import { storeFactories } from '../store/testing.js';
import type { DescribeTemplate } from './outbound.js';
import { providerContract } from './provider-contract.js';
import { SandboxProvider } from './sandbox/sandbox-provider.js';
import { SmtpProvider } from './smtp/smtp-provider.js';
import { FakeSmtp } from './smtp/testing/fake-smtp.js';
import { TelerivetProvider } from './telerivet/telerivet-provider.js';
import { FakeTelerivet } from './telerivet/testing/fake-telerivet.js';
import { FakeTwilio } from './twilio/testing/fake-twilio.js';
import { TwilioProvider } from './twilio/twilio-provider.js';
import { WebhookProvider } from './webhook/webhook-provider.js';

const describe: DescribeTemplate = (t) => ({
  description: t === 'payment_reminder_friendly' ? 'Friendly reminder: invoice overdue, pay link.' : String(t),
  marketing: false,
});
// nobody listens here: callbacks in this suite go nowhere (the scenario tests follow them)
const NOWHERE = 'http://127.0.0.1:9';

providerContract('sandbox', async () => {
  const { store, dispose } = await (storeFactories[0] as (typeof storeFactories)[number]).open();
  const provider = new SandboxProvider({
    sends: store.sandbox,
    log: createLogger('silent'),
    secret: 'sandbox-secret-0123456789abcdef',
    receiptUrl: () => null,
    now: () => Date.now(),
  });
  return { provider, channel: 'sms', to: '+254700000001', close: dispose };
});

providerContract('webhook', async () => {
  let down = false;
  const gateway: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const m = JSON.parse(body) as { to: string; idempotencyKey: string };
      if (down) return void res.writeHead(503).end();
      if (!m.to.startsWith('+')) return void res.writeHead(400).end('{"error":"bad number"}');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ providerMessageId: `gw-${m.idempotencyKey}`, cost: 0.01 }));
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/send`;
  const provider = new WebhookProvider({
    urls: { sms: url },
    secret: 'gateway-secret-0123456789abcdef',
    allowPrivate: true,
    now: () => Date.now(),
  });
  return {
    provider,
    channel: 'sms',
    to: '+254700000001',
    unsupportedChannel: 'voice',
    outage: { begin: () => (down = true), end: () => (down = false) },
    close: async () => {
      await provider.stop();
      await new Promise<void>((r) => gateway.close(() => r()));
    },
  };
});

const twilioSubject = (channel: 'sms' | 'voice') => async () => {
  const fake = new FakeTwilio(`AC${'1'.repeat(32)}`, 'twilio-auth-token-0123456789');
  const apiBase = await fake.start();
  const provider = new TwilioProvider(
    {
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      apiBase,
      publicUrl: NOWHERE,
      smsFrom: ['+15005550006'],
      voiceFrom: '+15005550006',
      contentSids: {},
      mps: 100,
      machineDetection: true,
      maxRetries: 0,
    },
    describe,
  );
  return {
    provider,
    channel,
    to: '+254700000001',
    unsupportedChannel: 'email',
    outage: { begin: () => (fake.down = true), end: () => (fake.down = false) },
    lastText: async () => {
      const last = fake.requests.at(-1)?.params;
      return last?.get('Body') ?? last?.get('Twiml') ?? null;
    },
    close: async () => {
      await provider.stop();
      await fake.stop();
    },
  };
};
providerContract('twilio (sms)', twilioSubject('sms'));
providerContract('twilio (voice)', twilioSubject('voice'));

providerContract('telerivet', async () => {
  const fake = new FakeTelerivet('telerivet-api-key-0123456789', 'PJfake');
  const apiBase = await fake.start();
  const provider = new TelerivetProvider(
    {
      apiKey: fake.apiKey,
      projectId: fake.projectId,
      apiBase,
      publicUrl: NOWHERE,
      statusSecret: 'status-secret-0123456789',
      chatRoutes: {},
      perSecond: 100,
    },
    describe,
  );
  return {
    provider,
    channel: 'sms',
    to: '+254700000001',
    unsupportedChannel: 'email',
    outage: { begin: () => (fake.down = true), end: () => (fake.down = false) },
    lastText: async () => String(fake.sent.at(-1)?.content ?? ''),
    close: async () => {
      await provider.stop();
      await fake.stop();
    },
  };
});

providerContract('smtp', async () => {
  const relay = new FakeSmtp();
  await relay.start();
  const provider = new SmtpProvider(
    {
      url: relay.url,
      from: 'Signalbox <hello@signalbox.example>',
      publicUrl: NOWHERE,
      unsubscribeSecret: 'unsubscribe-secret-0123456789abcdef',
      perSecond: 100,
      ignoreTls: true,
    },
    describe,
  );
  return {
    provider,
    channel: 'email',
    to: 'ana@example.com',
    unsupportedChannel: 'sms',
    outage: { begin: () => (relay.down = true), end: () => (relay.down = false) },
    lastText: async () => relay.received.at(-1)?.raw ?? null,
    close: async () => {
      await provider.stop();
      await relay.stop();
    },
  };
});
