import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { clientAddressOf, type TrustProxy } from './client-address.js';

/** What Express's req.ip and clientAddressOf say of one request, side by side. */
async function both(trustProxy: number | string | boolean, forwardedFor: string | string[] | undefined) {
  const app = express();
  app.set('trust proxy', trustProxy);
  const trust = app.get('trust proxy fn') as TrustProxy;
  let ours = '';
  app.get('/', (req, res) => {
    res.send(req.ip);
  });
  const server = createServer((req, res) => {
    ours = clientAddressOf(req, trust);
    app(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const theirs = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        { port, host: '127.0.0.1', path: '/', headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
    return { theirs, ours };
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe("the client's address outside Express", () => {
  const headers = [
    undefined,
    '203.0.113.7',
    '203.0.113.7, 10.0.0.1',
    ' 198.51.100.2 ,203.0.113.7,,127.0.0.1 ',
    ['203.0.113.7', '10.0.0.2, 127.0.0.1'],
    ',,',
    'not-an-address, 127.0.0.1',
    '2001:db8::1, ::1',
  ];
  for (const trust of [false, true, 'loopback', 1, 2, '10.0.0.0/8, loopback'])
    it(`is Express's req.ip with trust proxy ${JSON.stringify(trust)}`, async () => {
      for (const h of headers) {
        const { theirs, ours } = await both(trust, h);
        expect(ours, JSON.stringify(h)).toBe(theirs);
      }
    });
});
