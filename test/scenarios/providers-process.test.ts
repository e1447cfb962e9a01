/**
 * Real providers as `pnpm start` runs them: configured from the environment only, built again in
 * the worker's own thread (which makes the sends), their hooks on the HTTP thread, on PostgreSQL.
 */
import { FakeTwilio } from '@signalbox/app/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabase, get, type Instance, post, startInstance, until } from '../support/instances.js';

const SID = `AC${'5'.repeat(32)}`;
const TOKEN = 'twilio-auth-token-0123456789';
let instance: Instance | null = null;
let drop: (() => Promise<void>) | null = null;
let fake: FakeTwilio | null = null;
afterEach(async () => {
  instance?.child.kill('SIGTERM');
  await instance?.exited;
  await drop?.();
  await fake?.stop();
  instance = null;
  drop = null;
  fake = null;
});

describe('providers from the environment', () => {
  it('an OTP goes out through Twilio from the worker thread; Twilio’s signed receipts come back to the instance', async () => {
    fake = new FakeTwilio(SID, TOKEN);
    await fake.start();
    const db = await freshDatabase();
    drop = db.drop;
    instance = await startInstance({
      id: 'providers',
      databaseUrl: db.url,
      env: {
        TWILIO_ACCOUNT_SID: SID,
        TWILIO_AUTH_TOKEN: TOKEN,
        TWILIO_SMS_FROM: '+15005550006',
        TWILIO_API_BASE: fake.url,
        PROVIDER_ROUTES: 'sms=twilio',
      },
    });
    const url = instance.url;
    const sent = await post(`${url}/api/v1/messages`, {
      contact: { identities: [{ kind: 'phone', value: '+254711000401' }], market: 'KE' },
      message: { type: 'otp' },
    });
    expect(sent.status).toBe(202);
    const messageId = (sent.body as { messageId: string }).messageId;
    const attempt = await until('the SMS delivered', async () => {
      const m = (await get(`${url}/api/v1/messages/${messageId}`)).body as { attempts: Array<{ provider: string; status: string }> };
      return m.attempts.find((a) => a.status === 'delivered');
    });
    expect(attempt.provider).toBe('twilio');
    const req = fake.messages()[0];
    expect(req?.params.get('To')).toBe('+254711000401');
    expect(req?.params.get('StatusCallback')).toBe(`${url}/hooks/twilio/status`);
    expect(fake.undelivered).toEqual([]);
  }, 120_000);

  it('a route naming a provider that is not configured stops start-up, naming it', async () => {
    const db = await freshDatabase();
    drop = db.drop;
    await expect(startInstance({ id: 'bad', databaseUrl: db.url, env: { PROVIDER_ROUTES: 'sms=twilio' } })).rejects.toThrow(
      /PROVIDER_ROUTES names twilio, which is not configured/,
    );
  }, 60_000);
});
