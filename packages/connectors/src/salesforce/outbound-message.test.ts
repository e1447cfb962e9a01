/** Outbound Messages: parsed safely, held to Salesforce's WSDL, acknowledged; hostile XML refused before parsing. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { toId18 } from './ids.js';
import { OUTBOUND_ACK, outboundAck, parseOutboundMessage, receiveOutboundMessage } from './outbound-message.js';
import { deliverOutboundMessage, type OutboundMessage, outboundEnvelope } from './testing/outbound-sender.js';

const ORG = toId18('00D5g000000ABCD') as string;
const contact = toId18('0035g00000PQRST') as string;
const message = (n = 2, fields: Record<string, string | boolean | null> = {}): OutboundMessage => ({
  organizationId: ORG,
  actionId: toId18('04k5g000000XYZ1') as string,
  sObjectType: 'Contact',
  sessionId: 'SESSION-SECRET',
  notifications: Array.from({ length: n }, (_, i) => ({
    id: toId18(`04l5g00000AA${String(i).padStart(3, '0')}`) as string,
    fields: {
      Id: contact,
      MobilePhone: '+15550100',
      Email: 'o&apos;brien@example.com'.replace('&apos;', "'"),
      HasOptedOutOfEmail: false,
      Phone: null,
      ...fields,
    },
  })),
});
const req = (body: string, over: Partial<{ method: string; url: string; type: string }> = {}) => ({
  method: over.method ?? 'POST',
  url: over.url ?? '/hooks/salesforce/outbound/s3cret-path',
  headers: { 'content-type': over.type ?? 'text/xml; charset=utf-8' },
  rawBody: Buffer.from(body),
});
const cfg = { allowedOrgIds: [ORG.slice(0, 15)], pathSecret: 's3cret-path' };

const schemas = (() => {
  const dir = new URL('./testing/schemas/', import.meta.url);
  const f = (name: string) => ({ fileName: name, contents: readFileSync(new URL(name, dir), 'utf8') });
  return { schema: f('soap-envelope.xsd'), preload: [f('outbound-messaging.xsd'), f('enterprise-id.xsd'), f('sobject-contact.xsd')] };
})();
const validate = (xml: string) => validateXML({ xml: { fileName: 'message.xml', contents: xml }, ...schemas });

describe('Outbound Message parsing', () => {
  it('reads what Salesforce sends: org, action, notifications with their fields, nil fields, escaped text; the session id is dropped', () => {
    const m = receiveOutboundMessage(req(outboundEnvelope(message())), cfg);
    expect(m.organizationId).toBe(ORG);
    expect(m.hadSessionId).toBe(true);
    expect(JSON.stringify(m)).not.toContain('SESSION-SECRET');
    expect(m.notifications).toHaveLength(2);
    expect(m.notifications[0]).toEqual({
      id: toId18('04l5g00000AA000'),
      sObjectType: 'Contact',
      recordId: contact,
      fields: { Id: contact, Email: "o'brien@example.com", HasOptedOutOfEmail: 'false', MobilePhone: '+15550100', Phone: null },
    });
  });

  it('reads the reference sheet example (other prefixes, 15/18-char ids)', () => {
    const xml = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g000000ABCDEAQ</OrganizationId><ActionId>04k5g000000XYZ1AAG</ActionId><SessionId xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/><EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/60.0/00D5g000000ABCD</EnterpriseUrl><PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/60.0/00D5g000000ABCD</PartnerUrl><Notification><Id>04l5g00000AAAA1AAA</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><sf:Id>0035g00000PQRSTAA1</sf:Id><sf:MobilePhone>+15550100</sf:MobilePhone></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`;
    // the sheet's ids are made up: their checksum suffixes are wrong, which we refuse (real ids always match)
    expect(() => parseOutboundMessage(xml)).toThrowError(expect.objectContaining({ code: 'OUTBOUND_MESSAGE_INVALID' }));
    // and says so, rather than that the id does not start with 00D
    try {
      parseOutboundMessage(xml);
    } catch (e) {
      expect((e as { problems: Array<{ path: string; message: string }> }).problems[0]?.message).toMatch(/checksum/);
    }
    const real = (id: string) => toId18(id.slice(0, 15)) as string;
    const fixed = ['00D5g000000ABCDEAQ', '04k5g000000XYZ1AAG', '04l5g00000AAAA1AAA', '0035g00000PQRSTAA1'].reduce(
      (x, id) => x.replaceAll(id, real(id)),
      xml,
    );
    const m = parseOutboundMessage(fixed);
    expect(m.organizationId).toBe(real('00D5g000000ABCDEAQ'));
    expect(m.hadSessionId).toBe(false);
    expect(m.notifications[0]?.fields.MobilePhone).toBe('+15550100');
  });

  it.each([
    ['XXE (external entity)', `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>`, 'XML_UNSAFE'],
    [
      'billion laughs',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`,
      'XML_UNSAFE',
    ],
    ['a DOCTYPE without entities', `<!DOCTYPE soapenv:Envelope SYSTEM "http://evil.example/x.dtd"><x/>`, 'XML_UNSAFE'],
    ['an undeclared entity', outboundEnvelope(message(1)).replace('+15550100', '&nbsp;'), 'XML_UNSAFE'],
    [
      'too deep',
      outboundEnvelope(message(1)).replace('<sf:Phone xsi:nil="true"/>', `${'<sf:a>'.repeat(40)}x${'</sf:a>'.repeat(40)}`),
      'XML_UNSAFE',
    ],
    ['not well-formed', outboundEnvelope(message(1)).replace('</notifications>', ''), 'OUTBOUND_MESSAGE_INVALID'],
    ['101 notifications', outboundEnvelope(message(101)), 'OUTBOUND_MESSAGE_INVALID'],
    [
      'another namespace',
      outboundEnvelope(message(1)).replace('http://soap.sforce.com/2005/09/outbound', 'http://example.com/x'),
      'OUTBOUND_MESSAGE_INVALID',
    ],
  ])('refuses %s with a 4xx and a coded error', (_name, xml, code) => {
    expect(() => receiveOutboundMessage(req(xml), cfg)).toThrowError(expect.objectContaining({ code, status: 400 }));
  });

  it('refuses oversized bodies before reading them, wrong orgs, wrong paths, methods and content types', () => {
    const big = outboundEnvelope(message(1, { Email: 'x'.repeat(5 * 1024 * 1024) }));
    expect(() => receiveOutboundMessage(req(big), cfg)).toThrowError(
      expect.objectContaining({ code: 'OUTBOUND_MESSAGE_TOO_LARGE', status: 413 }),
    );
    const other = outboundEnvelope({ ...message(1), organizationId: toId18('00D5g000000ZZZZ') as string });
    expect(() => receiveOutboundMessage(req(other), cfg)).toThrowError(
      expect.objectContaining({
        code: 'SALESFORCE_ORG_UNKNOWN',
        status: 403,
        problems: [{ path: '/Envelope/Body/notifications/OrganizationId', message: 'organization is not in the allow-list' }],
      }),
    );
    const ok = outboundEnvelope(message(1));
    expect(() => receiveOutboundMessage(req(ok, { url: '/hooks/salesforce/outbound/guess' }), cfg)).toThrowError(
      expect.objectContaining({ code: 'OUTBOUND_SECRET_INVALID', status: 403 }),
    );
    // a last segment that is not percent-encoding at all is not the secret either (it threw URIError: a 500)
    for (const url of ['/hooks/salesforce/outbound/%E0%A4%A', '/hooks/salesforce/outbound/%'])
      expect(() => receiveOutboundMessage(req(ok, { url }), cfg), url).toThrowError(
        expect.objectContaining({ code: 'OUTBOUND_SECRET_INVALID', status: 403 }),
      );
    expect(() => receiveOutboundMessage(req(ok, { method: 'GET' }), cfg)).toThrowError(expect.objectContaining({ status: 405 }));
    expect(() => receiveOutboundMessage(req(ok, { type: 'application/json' }), cfg)).toThrowError(expect.objectContaining({ status: 415 }));
    const bad = outboundEnvelope(message(2)).replace(`<Id>${toId18('04l5g00000AA001')}</Id>`, '<Id>nope</Id>');
    expect(() => parseOutboundMessage(bad)).toThrowError(
      expect.objectContaining({
        problems: [{ path: '/Envelope/Body/notifications/Notification/1/Id', message: 'must be a Salesforce id starting with 04l' }],
      }),
    );
  });
});

describe('held to Salesforce’s Outbound Messaging WSDL', () => {
  it('the fake’s messages and our ACK validate against the WSDL’s schema; a message breaking it does not', async () => {
    const sent = await validate(outboundEnvelope(message(3, { LastModifiedDate: '2026-11-23T09:00:00.000Z' })));
    expect(sent.errors).toEqual([]);
    expect(sent.valid).toBe(true);
    expect((await validate(OUTBOUND_ACK)).valid).toBe(true);
    const tooMany = await validate(outboundEnvelope(message(101)));
    expect(tooMany.valid).toBe(false);
    const wrongOrder = outboundEnvelope(message(1)).replace(
      /<OrganizationId>(.*?)<\/OrganizationId><ActionId>(.*?)<\/ActionId>/,
      '<ActionId>$2</ActionId><OrganizationId>$1</OrganizationId>',
    );
    expect((await validate(wrongOrder)).valid).toBe(false);
    expect((await validate(OUTBOUND_ACK.replace('<Ack>true</Ack>', '<Ack>yes</Ack>'))).valid).toBe(false);
  });

  it('the fake re-sends until it gets the exact ACK, as Salesforce does', async () => {
    let calls = 0;
    const bodies: string[] = [];
    const server = createServer((rq, rs) => {
      const chunks: Buffer[] = [];
      rq.on('data', (c: Buffer) => chunks.push(c));
      rq.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        calls++;
        if (calls === 1) rs.writeHead(500).end('boom');
        else if (calls === 2) rs.writeHead(200, { 'content-type': 'text/xml' }).end('<ok/>');
        else {
          const a = outboundAck();
          rs.writeHead(a.status, a.headers).end(a.body);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/salesforce/outbound`;
    const r = await deliverOutboundMessage(url, message(1), { initialDelayMs: 5 });
    server.close();
    expect(r.acked).toBe(true);
    expect(r.attempts.map((a) => [a.status, a.acked])).toEqual([
      [500, false],
      [200, false],
      [200, true],
    ]);
    expect(new Set(bodies).size).toBe(1); // the same notification ids every time
  });
});
