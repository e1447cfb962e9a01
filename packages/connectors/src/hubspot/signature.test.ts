import { describe, expect, it } from 'vitest';
import { decodeV3Uri, type SignedRequest, signV1, signV2, signV3, verifyHubspotSignature } from './signature.js';

/**
 * Vectors computed independently of this code: the v1/v2 ones are HubSpot's own published examples
 * (developers.hubspot.com/docs/faq/v1-request-validation and v2-request-validation); the others
 * were computed with Python's hashlib/hmac from the definitions in shared/reference/hubspot.md §1.
 */
const HS_SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const HS_BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const SECRET = 'hs-client-secret-0f1e2d3c';
const TS = '1795400000123';

const req = (method: string, url: string, body: string | Buffer, headers: Record<string, string>): SignedRequest => ({
  method,
  url,
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  header: (n) => Object.entries(headers).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1],
});

describe('HubSpot signatures against independent vectors', () => {
  it('v1: HubSpot’s published example', () => {
    expect(signV1(HS_SECRET, HS_BODY)).toBe('232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
  });
  it('v2: HubSpot’s published GET example (no body)', () => {
    expect(signV2(HS_SECRET, 'GET', 'https://www.example.com/webhook_uri', '')).toBe(
      'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e',
    );
  });
  it('v1 over a body with non-ASCII characters and a plus sign (raw bytes)', () => {
    const body =
      '[{"eventId":1,"portalId":62515,"occurredAt":1795400000000,"subscriptionType":"contact.propertyChange","objectId":901,"propertyName":"firstname","propertyValue":"Zoë +1"}]';
    expect(signV1(SECRET, Buffer.from(body, 'utf8'))).toBe('49bedcbd4bba07a373e11dd6b66cf03602bbbb743062943b4fcf6e40038b8402');
  });
  it('v2 keeps the query string in the order it was sent', () => {
    const url = 'https://signalbox.example.com/hooks/hubspot/actions?portalId=62515&b=2&a=1';
    const body =
      '[{"eventId":1,"portalId":62515,"occurredAt":1795400000000,"subscriptionType":"contact.propertyChange","objectId":901,"propertyName":"firstname","propertyValue":"Zoë +1"}]';
    expect(signV2(SECRET, 'POST', url, body)).toBe('f79ee482b3f6e23fc39f94a2abd7442c74911efbc0071ff2536d2cc35d8ab10b');
    const reordered = 'https://signalbox.example.com/hooks/hubspot/actions?portalId=62515&a=1&b=2';
    expect(signV2(SECRET, 'POST', reordered, body)).not.toBe('f79ee482b3f6e23fc39f94a2abd7442c74911efbc0071ff2536d2cc35d8ab10b');
  });
  it('v3 decodes only the listed escapes of the URI (%40 %2F %3A yes; %2B and %20 no)', () => {
    const url = 'https://signalbox.example.com/hubspot/card?portalId=62515&email=ana%40example.com&q=a%2Bb%20c&path=%2Fx%3Ay';
    expect(decodeV3Uri(url)).toBe('https://signalbox.example.com/hubspot/card?portalId=62515&email=ana@example.com&q=a%2Bb%20c&path=/x:y');
    expect(signV3(SECRET, 'GET', url, '', TS)).toBe('OLsNVzuiJQCjBIizUubf6uy3Qap4fjffGs6L9Eg7R1E=');
  });
  it('v3 over a UTF-8 body', () => {
    const body = Buffer.from('{"text":"café + thé"}', 'utf8');
    expect(signV3(SECRET, 'POST', 'https://signalbox.example.com/hubspot/card/send?portalId=62515&userId=7', body, TS)).toBe(
      'EIUlGaMImycBcrIvmk0MOn7hOYn5EH4fayhp2tWeAMI=',
    );
  });
});

describe('verifyHubspotSignature', () => {
  const url = 'https://signalbox.example.com/hubspot/card?portalId=62515&email=ana%40example.com&q=a%2Bb%20c&path=%2Fx%3Ay';
  const v3 = 'OLsNVzuiJQCjBIizUubf6uy3Qap4fjffGs6L9Eg7R1E=';
  const now = Number(TS) + 1000;
  it('prefers v3 and accepts it within five minutes', () => {
    const r = req('GET', url, '', { 'X-HubSpot-Signature-v3': v3, 'X-HubSpot-Request-Timestamp': TS, 'X-HubSpot-Signature': 'junk' });
    expect(verifyHubspotSignature(SECRET, r, now)).toEqual({ ok: true, version: 'v3' });
  });
  it('refuses a stale, a future, a forged and a timestamp-less v3 request', () => {
    const h = { 'X-HubSpot-Signature-V3': v3, 'X-HubSpot-Request-Timestamp': TS };
    expect(verifyHubspotSignature(SECRET, req('GET', url, '', h), Number(TS) + 5 * 60_000 + 1)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyHubspotSignature(SECRET, req('GET', url, '', h), Number(TS) - 6 * 60_000)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyHubspotSignature('other-secret', req('GET', url, '', h), now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyHubspotSignature(SECRET, req('GET', `${url}&x=1`, '', h), now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyHubspotSignature(SECRET, req('GET', url, '', { 'X-HubSpot-Signature-V3': v3 }), now)).toEqual({
      ok: false,
      reason: 'timestamp missing',
    });
  });
  it('falls back to the version the header names, and an endpoint may refuse a version', () => {
    const v1 = req('POST', 'https://x.example/hooks', HS_BODY, {
      'X-HubSpot-Signature': '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
      'X-HubSpot-Signature-Version': 'v1',
    });
    expect(verifyHubspotSignature(HS_SECRET, v1, now)).toEqual({ ok: true, version: 'v1' });
    expect(verifyHubspotSignature(HS_SECRET, v1, now, ['v2', 'v3'])).toEqual({ ok: false, reason: 'version v1 not accepted here' });
    const v2 = req('GET', 'https://www.example.com/webhook_uri', '', {
      'X-HubSpot-Signature': 'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e',
      'X-HubSpot-Signature-Version': 'v2',
    });
    expect(verifyHubspotSignature(HS_SECRET, v2, now)).toEqual({ ok: true, version: 'v2' });
    expect(verifyHubspotSignature(HS_SECRET, req('POST', 'https://x.example/hooks', HS_BODY, {}), now)).toEqual({
      ok: false,
      reason: 'missing',
    });
  });
});
