import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../logger.js';
import { storeFactories } from '../../store/testing.js';
import { SandboxProvider } from './sandbox-provider.js';

/** A receipt endpoint that drops the first `fail` requests' connections, then answers 200 and keeps what it got. */
async function flakyEndpoint(fail: number) {
  const got: unknown[] = [];
  let seen = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen++;
      if (seen <= fail) {
        req.socket.destroy();
        return;
      }
      got.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/providers/sandbox/receipts`;
  return { url, got, seen: () => seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.each(storeFactories)('the sandbox posting its receipts ($name)', (factory) => {
  let opened: Awaited<ReturnType<(typeof storeFactories)[number]['open']>>;
  beforeAll(async () => {
    opened = await factory.open();
  });
  afterAll(async () => opened?.dispose());

  const provider = (url: string | null, now: () => number = () => Date.now()) =>
    new SandboxProvider({
      sends: opened.store.sandbox,
      log: createLogger('silent'),
      secret: 'sandbox-secret-0123456789abcdef',
      receiptUrl: () => url,
      now,
    });
  const send = (p: SandboxProvider, claim: string) =>
    p.send({ claim, messageId: claim, channel: 'sms', to: '+254700000001', content: 'text', template: null, estimatedCost: 0 } as never);

  it('tries a batch again when its connection is lost (a provider retries its webhook): delivered once', async () => {
    const endpoint = await flakyEndpoint(2);
    try {
      const p = provider(endpoint.url);
      await send(p, 'retry-1:0');
      await p.drain();
      expect(endpoint.seen()).toBe(3);
      expect(endpoint.got).toHaveLength(1);
      expect((endpoint.got[0] as { receipts: Array<{ status: string }> }).receipts.map((r) => r.status)).toEqual(['delivered', 'read']);
    } finally {
      await endpoint.close();
    }
  });

  it('gives a batch up after three tries', async () => {
    const endpoint = await flakyEndpoint(10);
    try {
      const p = provider(endpoint.url);
      await send(p, 'retry-2:0');
      await p.drain();
      expect(endpoint.seen()).toBe(3);
      expect(endpoint.got).toHaveLength(0);
    } finally {
      await endpoint.close();
    }
  });

  it("posts a retried claim's receipts again, timed as the first call (the instance that sent may have died before posting them)", async () => {
    const endpoint = await flakyEndpoint(0);
    try {
      const first = Date.parse('2026-12-07T10:00:00Z');
      // the instance that sent first was killed before its receipts went out (it posts none here)
      const crashed = provider(null, () => first);
      const sent = (await send(crashed, 'again-1:0')) as { providerMessageId: string };
      // another instance retakes the claim a lease later: the same message, and its receipts arrive
      const retaker = provider(endpoint.url, () => first + 60_000);
      const again = (await send(retaker, 'again-1:0')) as { providerMessageId: string };
      await retaker.drain();
      expect(again.providerMessageId).toBe(sent.providerMessageId);
      const batch = (endpoint.got[0] as { receipts: Array<{ providerMessageId: string; status: string; at: string }> }).receipts;
      expect(batch).toEqual([
        { providerMessageId: sent.providerMessageId, status: 'delivered', at: '2026-12-07T10:00:00.000Z' },
        { providerMessageId: sent.providerMessageId, status: 'read', at: '2026-12-07T10:00:00.000Z' },
      ]);
      // once more: the same receipts, the same times (the receipt log knows them and counts nothing twice)
      await send(retaker, 'again-1:0');
      await retaker.drain();
      expect(endpoint.got[1]).toEqual(endpoint.got[0]);
      const row = (await opened.store.sandbox.sends()).find((r) => r.claim === 'again-1:0');
      expect(row?.calls).toBe(3);
      expect(row?.at).toBe(first);
      // the log itself: a claim new and again in one write, and one it knows, each with its first time
      const recorded = await opened.store.sandbox.record(
        [
          { claim: 'again-2:0', at: first + 5 },
          { claim: 'again-2:0', at: first + 6 },
          { claim: 'again-1:0', at: first + 7 },
        ].map((x) => ({ ...x, providerMessageId: `sbx-${x.claim}`, channel: 'sms', address: '+254700000001', content: 'text' })),
      );
      expect(recorded).toEqual([
        { providerMessageId: 'sbx-again-2:0', duplicate: false, at: first + 5 },
        { providerMessageId: 'sbx-again-2:0', duplicate: true, at: first + 5 },
        { providerMessageId: 'sbx-again-1:0', duplicate: true, at: first },
      ]);
    } finally {
      await endpoint.close();
    }
  });
});
