/**
 * A pass-through HTTP proxy that records every answer as it went over the wire (status, headers,
 * raw body), so a test can check what the SDK received, not what the fake meant to send.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  /** path without the query */
  path: string;
  query: string;
  requestBody: string;
  status: number;
  contentType: string | null;
  headers: Record<string, string>;
  body: string;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'content-encoding']);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  url = '';
  private server: Server | null = null;

  /** @param target where requests go (read on every request, so the target can change between tests) */
  constructor(private readonly target: () => string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void (async () => {
        const requestBody = await readBody(req);
        const u = new URL(req.url ?? '/', 'http://proxy');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && typeof v === 'string') headers[k] = v;
        const method = req.method ?? 'GET';
        const r = await fetch(`${this.target()}${u.pathname}${u.search}`, {
          method,
          headers,
          ...(requestBody === '' ? {} : { body: requestBody }),
        });
        const body = await r.text();
        const out: Record<string, string> = {};
        r.headers.forEach((v, k) => {
          if (!HOP_BY_HOP.has(k)) out[k] = v;
        });
        this.exchanges.push({
          method,
          path: u.pathname,
          query: u.search,
          requestBody,
          status: r.status,
          contentType: r.headers.get('content-type'),
          headers: out,
          body,
        });
        res.writeHead(r.status, out);
        res.end(body);
      })().catch((e: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${(e as Error).message}`);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The last exchange whose method and path match. */
  last(method: string, path: RegExp | string): Exchange {
    const hit = this.exchanges.findLast((e) => e.method === method && (typeof path === 'string' ? e.path === path : path.test(e.path)));
    if (hit === undefined) throw new Error(`no ${method} ${String(path)} went through the proxy`);
    return hit;
  }
}
