/**
 * Signalbox's card routes played back from fixture files over real HTTP: each route answers the
 * fixture it was given (status, content type and body as recorded), optionally held until the
 * test releases it, and every request is kept so a test can check what the card sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export class FixtureServer {
  readonly requests: ReceivedRequest[] = [];
  url = '';
  private readonly answers = new Map<string, Answer | Promise<Answer>>();
  private server: Server | null = null;

  /** What `METHOD /path` answers from now on (a promise holds the answer until it settles). */
  answer(method: string, path: string, answer: Answer | Promise<Answer>): void {
    this.answers.set(`${method} ${path}`, answer);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString('utf8');
        const u = new URL(req.url ?? '/', 'http://fixture');
        const method = req.method ?? 'GET';
        this.requests.push({ method, path: u.pathname, query: u.searchParams, body: raw === '' ? null : (JSON.parse(raw) as unknown) });
        const a = await this.answers.get(`${method} ${u.pathname}`);
        if (a === undefined) {
          res.writeHead(404, { 'content-type': 'application/problem+json' });
          res.end(
            JSON.stringify({ title: 'Not found', status: 404, code: 'NO_FIXTURE', detail: `no fixture for ${method} ${u.pathname}` }),
          );
          return;
        }
        res.writeHead(a.status, { 'content-type': a.contentType });
        res.end(JSON.stringify(a.body));
      })();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
