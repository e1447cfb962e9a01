import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface FakeTelerivetRule {
  /** Regular expression on to_number. */
  to: string;
  /** Statuses posted to status_url, in order (default sent, delivered). */
  statuses?: string[];
  /** Refuse the number as Telerivet does (invalid_param on to_number). */
  invalid?: boolean;
}

/**
 * A local Telerivet speaking its REST wire format: `POST /v1/projects/{id}/messages/send` with
 * Basic auth (API key, empty password), JSON bodies (gzip-encoded ones too, as its client sends
 * long bodies), errors as `{error: {code, message, param}}`; `send_status` callbacks posted as
 * forms with the message's `status_secret`. `down` answers 503.
 */
export class FakeTelerivet {
  readonly sent: Array<Record<string, unknown>> = [];
  /** Callbacks that could not be posted (nobody listening at the status_url). */
  readonly undelivered: string[] = [];
  rules: FakeTelerivetRule[] = [];
  down = false;
  private server: Server | null = null;
  private callbacks: Promise<unknown>[] = [];
  url = '';

  constructor(
    readonly apiKey: string,
    readonly projectId: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.settled();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  async settled(): Promise<void> {
    while (this.callbacks.length > 0) await Promise.all(this.callbacks.splice(0));
  }

  private error(res: ServerResponse, status: number, code: string, message: string, param?: string) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message, ...(param ? { param } : {}) } }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    if (this.down) return this.error(res, 503, 'unavailable', 'Service temporarily unavailable');
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':')[0] : '';
    if (user !== this.apiKey) return this.error(res, 401, 'unauthorized', 'Invalid API key');
    if (req.method !== 'POST' || req.url !== `/v1/projects/${this.projectId}/messages/send`)
      return this.error(res, 404, 'not_found', 'Not found');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.error(res, 400, 'invalid_param', 'Invalid JSON');
    }
    const to = String(body.to_number ?? '');
    const rule = this.rules.find((r) => new RegExp(r.to).test(to));
    if (!/^\+?\d{7,15}$/.test(to) || rule?.invalid) return this.error(res, 400, 'invalid_param', 'Invalid phone number', 'to_number');
    const type = String(body.message_type ?? 'text');
    if (!['text', 'sms', 'mms', 'ussd', 'call', 'chat', 'service'].includes(type))
      return this.error(res, 400, 'invalid_param', 'Invalid message_type', 'message_type');
    if (typeof body.content !== 'string' && type !== 'call') return this.error(res, 400, 'invalid_param', 'content is required', 'content');
    this.sent.push(body);
    const id = `SM${randomBytes(8).toString('hex')}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        phone_id: 'PNfake',
        contact_id: `CT${randomBytes(6).toString('hex')}`,
        direction: 'outgoing',
        status: 'queued',
        message_type: type,
        source: 'api',
        time_created: Math.floor(Date.now() / 1000),
        to_number: to,
        content: body.content,
        num_parts: 1,
        route_id: body.route_id ?? null,
        project_id: this.projectId,
      }),
    );
    const url = typeof body.status_url === 'string' ? body.status_url : null;
    if (url === null) return;
    const secret = String(body.status_secret ?? '');
    const statuses = rule?.statuses ?? ['sent', 'delivered'];
    this.callbacks.push(
      (async () => {
        for (const status of statuses)
          await this.post(url, { event: 'send_status', id, status, secret, time_updated: String(Math.floor(Date.now() / 1000)) });
      })().catch((err: unknown) => this.undelivered.push((err as Error).message)),
    );
  }

  /** A form POST as Telerivet makes its webhooks. */
  async post(url: string, fields: Record<string, string>): Promise<{ status: number; body: string }> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: res.status, body: await res.text() };
  }
}
