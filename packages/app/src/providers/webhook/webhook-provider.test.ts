import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../security/signature.js';
import { isPublicAddress } from './ssrf.js';
import { WebhookProvider } from './webhook-provider.js';

const SECRET = 'gateway-secret-0123456789abcdef';
const received: Array<{ headers: IncomingMessage['headers']; body: string; at: number }> = [];
let gateway: Server;
let url: string;

beforeAll(async () => {
  gateway = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      const parsed = JSON.parse(body) as { to: string; idempotencyKey: string };
      if (parsed.to.endsWith('500')) {
        res.writeHead(503).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ providerMessageId: `gw-${parsed.idempotencyKey}`, cost: 0.011 }));
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/send`;
});
afterAll(() => new Promise<void>((r) => gateway.close(() => r())));

const msg = (to: string, claim = `m-${to}:0`) => ({
  claim,
  messageId: 'm',
  channel: 'sms',
  to,
  content: 'text' as const,
  template: 't',
  variables: { a: 1 },
  estimatedCost: 0.01,
});

describe('webhook provider', () => {
  it('refuses loopback and private gateways in every notation unless allowed (SSRF guard)', async () => {
    const port = new URL(url).port;
    const targets = [
      url,
      `http://[::ffff:127.0.0.1]:${port}/send`,
      `http://[::ffff:7f00:1]:${port}/send`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/send`,
      `http://[::1]:${port}/send`,
      `http://localhost:${port}/send`,
      `http://0.0.0.0:${port}/send`,
      `http://2130706433:${port}/send`,
      `http://0x7f.1:${port}/send`,
    ];
    for (const target of targets) {
      const p = new WebhookProvider({ urls: { sms: target }, secret: SECRET, now: Date.now, timeoutMs: 2000 });
      const r = await p.send(msg('+15550001'));
      expect(r, target).toMatchObject({ status: 'failed', retryable: false });
      expect(r.status === 'failed' && r.error, target).toMatch(/private or loopback/);
      await p.stop();
    }
    expect(received).toHaveLength(0);
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fe80::1%eth0',
      '::ffff:10.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '[::ffff:127.0.0.1]',
      '0:0:0:0:0:ffff:127.0.0.1',
      '::ffff:0:0',
      '2002:7f00:1::',
      '64:ff9b::7f00:1',
      'not-an-address',
    ])
      expect(isPublicAddress(ip), ip).toBe(false);
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(ip), ip).toBe(true);
    expect(
      (
        await new WebhookProvider({ urls: { sms: 'file:///etc/passwd' }, secret: SECRET, now: Date.now, allowPrivate: true }).send(
          msg('+1'),
        )
      ).status,
    ).toBe('failed');
  });

  it('POSTs a signed, timestamped request with the claim as idempotency key, and reads id and cost back', async () => {
    const p = new WebhookProvider({ urls: { sms: url }, secret: SECRET, now: Date.now, allowPrivate: true });
    const r = await p.send(msg('+15550002'));
    expect(r).toEqual({ status: 'accepted', providerMessageId: 'gw-m-+15550002:0', cost: 0.011 });
    const got = received.at(-1);
    expect(got?.headers['idempotency-key']).toBe('m-+15550002:0');
    expect(verify(SECRET, got?.headers['signalbox-signature'] as string, got?.body ?? '', Date.now())).toMatchObject({ ok: true });
    expect(verify('other-secret-0123456789abcdef', got?.headers['signalbox-signature'] as string, got?.body ?? '', Date.now()).ok).toBe(
      false,
    );
    expect(JSON.parse(got?.body ?? '{}')).toMatchObject({ channel: 'sms', to: '+15550002', content: 'text', variables: { a: 1 } });
    expect(JSON.parse(got?.body ?? '{}')).not.toHaveProperty('rendered');
    // the rendered message travels with it when the template has content
    const rendered = {
      kind: 'text' as const,
      text: 'Your code is 1234',
      segments: { encoding: 'GSM-7' as const, segments: 1, characters: 17 },
    };
    expect((await p.send({ ...msg('+15550003'), rendered })).status).toBe('accepted');
    expect(JSON.parse(received.at(-1)?.body ?? '{}').rendered).toEqual(rendered);
    const down = await p.send(msg('+15550500'));
    expect(down).toMatchObject({ status: 'failed', retryable: true });
    expect((await p.send({ ...msg('+1'), channel: 'voice' })).status).toBe('failed');
    await p.stop();
  });

  it('holds its outbound rate limit', async () => {
    const p = new WebhookProvider({ urls: { sms: url }, secret: SECRET, now: Date.now, allowPrivate: true, maxPerSecond: 5 });
    const before = received.length;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => p.send(msg(`+1555100${i}`))));
    const times = received.slice(before).map((x) => x.at - t0);
    expect(times).toHaveLength(12);
    // 5 in the first second, 5 in the second, 2 in the third
    expect(times.filter((t) => t < 900).length).toBeLessThanOrEqual(5);
    expect(Math.max(...times)).toBeGreaterThanOrEqual(1800);
    await p.stop();
  });
});
