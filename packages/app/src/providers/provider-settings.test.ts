import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { providerSettingsFrom } from './provider-settings.js';

const secret = (file: string, value: string | undefined) => value ?? `generated-${file}-0123456789`;
const TWILIO = {
  TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789',
  TWILIO_SMS_FROM: '+15005550006, +15005550007',
};

describe('provider settings from the environment', () => {
  it('none configured: the sandbox serves everything', () => {
    expect(providerSettingsFrom(loadConfig({}), secret)).toBeUndefined();
  });

  it('Twilio, Telerivet and SMTP with routes; secrets not given are generated', () => {
    const s = providerSettingsFrom(
      loadConfig({
        ...TWILIO,
        TWILIO_CONTENT_SIDS: `appointment_confirm:en=HX${'a'.repeat(32)}`,
        TWILIO_MPS: '1',
        TELERIVET_API_KEY: 'telerivet-api-key-0123456789',
        TELERIVET_PROJECT_ID: 'PJ123',
        TELERIVET_CHAT_ROUTES: 'whatsapp=PNwa',
        SMTP_URL: 'smtp://user:pass@mail.example.com:587',
        SMTP_FROM: 'hello@example.com',
        PROVIDER_ROUTES: 'sms=twilio,telerivet;sms@KE=telerivet,twilio;email=smtp',
        PUBLIC_URL: 'https://signalbox.example.com',
      }),
      secret,
    );
    expect(s?.twilio).toMatchObject({
      smsFrom: ['+15005550006', '+15005550007'],
      mps: 1,
      contentSids: { 'appointment_confirm:en': `HX${'a'.repeat(32)}` },
    });
    expect(s?.telerivet).toMatchObject({
      projectId: 'PJ123',
      chatRoutes: { whatsapp: 'PNwa' },
      statusSecret: 'generated-telerivet-status-secret-0123456789',
    });
    expect(s?.smtp).toMatchObject({ from: 'hello@example.com', unsubscribeSecret: 'generated-email-unsubscribe-secret-0123456789' });
    expect(s?.publicUrl).toBe('https://signalbox.example.com');
  });

  it('half a provider, or a route to a provider that is not configured, stops start-up naming the variables', () => {
    expect(() => providerSettingsFrom(loadConfig({ TWILIO_ACCOUNT_SID: TWILIO.TWILIO_ACCOUNT_SID }), secret)).toThrow(
      /Twilio needs TWILIO_AUTH_TOKEN, TWILIO_SMS_FROM/,
    );
    expect(() => providerSettingsFrom(loadConfig({ ...TWILIO, PROVIDER_ROUTES: 'sms=twilio,telerivet' }), secret)).toThrow(
      /PROVIDER_ROUTES names telerivet, which is not configured/,
    );
    expect(() => providerSettingsFrom(loadConfig({ ...TWILIO, PROVIDER_ROUTES: 'sms twilio' }), secret)).toThrow(ConfigError);
    expect(() => loadConfig({ TWILIO_CONTENT_SIDS: 'appointment=HX1' })).toThrow(/TWILIO_CONTENT_SIDS/);
    expect(() => loadConfig({ TWILIO_SMS_FROM: '+1, 555' })).toThrow(/TWILIO_SMS_FROM/);
    // an Organization id whose checksum suffix does not match could never match a notification
    expect(() => loadConfig({ SALESFORCE_ORG_IDS: '00D000000000001AAA' })).toThrow(/SALESFORCE_ORG_IDS/);
    expect(loadConfig({ SALESFORCE_ORG_IDS: '00D000000000001' }).SALESFORCE_ORG_IDS).toEqual(['00D000000000001']);
  });
});
