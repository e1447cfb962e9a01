import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { twilioSignature, validTwilioSignature } from './twilio-signature.js';

const TOKEN = 'twilio-auth-token-0123456789';
const URL_ = 'https://signalbox.example.com/hooks/twilio/status?account=a%20b';

describe('X-Twilio-Signature', () => {
  it("is computed exactly as Twilio's SDK computes it (sorted params, repeated names, unicode)", () => {
    const cases: Array<Record<string, string | string[]>> = [
      { MessageSid: `SM${'a'.repeat(32)}`, MessageStatus: 'delivered', To: '+254700000001' },
      { Body: 'STOP – ça suffit 🙅', From: 'whatsapp:+254700000001', ButtonPayload: 'CONFIRM' },
      { MediaUrl: ['https://b.example/2', 'https://a.example/1'], NumMedia: '2' },
      {},
    ];
    for (const fields of cases) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) params.append(k, x);
      expect(twilioSignature(TOKEN, URL_, params)).toBe(twilio.getExpectedTwilioSignature(TOKEN, URL_, fields));
      expect(twilio.validateRequest(TOKEN, twilioSignature(TOKEN, URL_, params), URL_, fields)).toBe(true);
    }
  });

  it('refuses a changed parameter, another URL, another token, a missing header', () => {
    const fields = { MessageSid: `SM${'b'.repeat(32)}`, MessageStatus: 'delivered' };
    const sig = twilio.getExpectedTwilioSignature(TOKEN, URL_, fields);
    const params = new URLSearchParams(fields);
    expect(validTwilioSignature(TOKEN, sig, URL_, params)).toBe(true);
    expect(validTwilioSignature(TOKEN, sig, URL_, new URLSearchParams({ ...fields, MessageStatus: 'read' }))).toBe(false);
    expect(validTwilioSignature(TOKEN, sig, `${URL_}&x=1`, params)).toBe(false);
    expect(validTwilioSignature('another-token-0123456789', sig, URL_, params)).toBe(false);
    expect(validTwilioSignature(TOKEN, undefined, URL_, params)).toBe(false);
    expect(validTwilioSignature(TOKEN, 'short', URL_, params)).toBe(false);
  });
});
