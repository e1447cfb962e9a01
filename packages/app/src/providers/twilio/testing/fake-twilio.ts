import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

/** What the fake does with a recipient: the statuses it reports back, in order. */
export interface FakeTwilioRule {
  /** Regular expression on `To` (e.g. `^whatsapp:`, `0$`). */
  to: string;
  /** Refuse the API call with this Twilio error code (21610, 21211, 21614, 63016 …). */
  error?: number;
  /** Message statuses (or, for calls, call statuses) posted to the StatusCallback, in order. */
  statuses?: string[];
  /** An ErrorCode reported with a failed or undelivered status. */
  errorCode?: number;
  /** Calls: who answered (`human`, `machine_start` …). */
  answeredBy?: string;
  /**
   * Messages: post the statuses (and wait for their answers) before answering the API call, as a
   * fast carrier's callbacks can reach the app before Twilio's answer to it does.
   */
  callbacksFirst?: boolean;
}

export interface FakeTwilioRequest {
  path: string;
  params: URLSearchParams;
  /** The Basic auth user (the Account SID) it came with. */
  user: string | null;
}

const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * A local Twilio speaking its wire format: the Messages and Calls APIs (form bodies, Basic auth,
 * JSON answers in snake_case, errors as `{code, message, more_info, status}`), status callbacks
 * signed with X-Twilio-Signature by Twilio's own SDK, and inbound messages posted the same way.
 * `down` answers 503; `throttle(n)` answers the next n requests 429 (code 20429).
 */
export class FakeTwilio {
  readonly requests: FakeTwilioRequest[] = [];
  /** Callbacks that could not be posted (nobody listening at the StatusCallback URL). */
  readonly undelivered: string[] = [];
  rules: FakeTwilioRule[] = [];
  down = false;
  /** Whether status callbacks are posted (a benchmark measuring only the sends turns them off). */
  callbacks = true;
  private throttled = 0;
  private server: Server | null = null;
  private pending: Promise<unknown>[] = [];
  url = '';

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.settled();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  throttle(n: number): void {
    this.throttled = n;
  }

  /** Waits until every callback posted so far has been answered. */
  async settled(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  messages(): FakeTwilioRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/Messages.json'));
  }

  calls(): FakeTwilioRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/Calls.json'));
  }

  private error(res: ServerResponse, status: number, code: number, message: string) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const auth = req.headers.authorization ?? '';
    const [user, pass] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':') : [null, null];
    const path = (req.url ?? '').split('?')[0] as string;
    this.requests.push({ path, params, user: user ?? null });
    if (this.down) return this.error(res, 503, 20503, 'Service Unavailable');
    if (this.throttled > 0) {
      this.throttled--;
      return this.error(res, 429, 20429, 'Too Many Requests');
    }
    if (user !== this.accountSid || pass !== this.authToken) return this.error(res, 401, 20003, 'Authenticate');
    const m = /^\/2010-04-01\/Accounts\/(AC\w+)\/(Messages|Calls)\.json$/.exec(path);
    if (req.method !== 'POST' || m === null || m[1] !== this.accountSid)
      return this.error(res, 404, 20404, 'The requested resource was not found');
    const to = params.get('To') ?? '';
    if (to === '') return this.error(res, 400, 21604, "A 'To' phone number is required.");
    if (!/^(whatsapp:)?\+[1-9]\d{6,14}$/.test(to)) return this.error(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    const rule = this.rules.find((r) => new RegExp(r.to).test(to));
    if (rule?.error !== undefined) return this.error(res, 400, rule.error, `Twilio error ${rule.error}`);
    if (m[2] === 'Messages') {
      if (!params.has('Body') && !params.has('ContentSid') && !params.has('MediaUrl'))
        return this.error(res, 400, 21602, 'Message body is required.');
      if (!params.has('From') && !params.has('MessagingServiceSid'))
        return this.error(res, 400, 21603, "A 'From' phone number is required.");
      const id = sid('SM');
      const body = params.get('Body') ?? '';
      const statuses = rule?.statuses ?? (to.startsWith('whatsapp:') ? ['sent', 'delivered', 'read'] : ['sent', 'delivered']);
      const callbacks = () =>
        this.report(params.get('StatusCallback'), statuses, (status) => ({
          MessageSid: id,
          SmsSid: id,
          AccountSid: this.accountSid,
          From: params.get('From') ?? '',
          To: to,
          MessageStatus: status,
          SmsStatus: status,
          ApiVersion: '2010-04-01',
          ...((status === 'failed' || status === 'undelivered') && rule?.errorCode !== undefined
            ? { ErrorCode: String(rule.errorCode) }
            : {}),
        }));
      if (rule?.callbacksFirst === true) await callbacks();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          sid: id,
          account_sid: this.accountSid,
          to,
          from: params.get('From'),
          body,
          status: 'queued',
          num_segments: '1',
          direction: 'outbound-api',
          price: null,
          price_unit: 'USD',
          error_code: null,
          error_message: null,
          messaging_service_sid: params.get('MessagingServiceSid'),
          date_created: new Date().toUTCString(),
          api_version: '2010-04-01',
          uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${id}.json`,
        }),
      );
      if (rule?.callbacksFirst !== true) void callbacks();
      return;
    }
    if (!params.has('Twiml') && !params.has('Url') && !params.has('ApplicationSid'))
      return this.error(res, 400, 21205, 'Url, Twiml or ApplicationSid is required.');
    const id = sid('CA');
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ sid: id, account_sid: this.accountSid, to, from: params.get('From'), status: 'queued', direction: 'outbound-api' }),
    );
    const statuses = rule?.statuses ?? ['completed'];
    this.report(params.get('StatusCallback'), statuses, (status) => ({
      CallSid: id,
      AccountSid: this.accountSid,
      From: params.get('From') ?? '',
      To: to,
      CallStatus: status,
      Direction: 'outbound-api',
      ApiVersion: '2010-04-01',
      ...(status === 'completed'
        ? { CallDuration: '12', ...(params.has('MachineDetection') ? { AnsweredBy: rule?.answeredBy ?? 'human' } : {}) }
        : {}),
    }));
  }

  /** Posts each status to the callback URL, in order, signed as Twilio signs (resolves when all are answered). */
  private report(url: string | null, statuses: string[], fields: (status: string) => Record<string, string>): Promise<void> {
    if (url === null || !this.callbacks) return Promise.resolve();
    const chain = (async () => {
      for (const status of statuses) await this.post(url, fields(status));
    })().catch((err: unknown) => {
      this.undelivered.push((err as Error).message);
    });
    this.pending.push(chain);
    return chain;
  }

  /** A signed form POST, as Twilio makes its webhooks. Returns the answer's status and body. */
  async post(url: string, fields: Record<string, string>, signWith = this.authToken): Promise<{ status: number; body: string }> {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(signWith, url, fields),
      },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: res.status, body: await res.text() };
  }

  /** A message from a contact to one of our numbers (SMS, or WhatsApp with `whatsapp:` addresses). */
  inbound(
    url: string,
    m: { from: string; to: string; body: string; buttonPayload?: string; sid?: string; optOutType?: 'STOP' | 'START' | 'HELP' },
    signWith?: string,
  ) {
    const id = m.sid ?? sid('SM');
    return this.post(
      url,
      {
        MessageSid: id,
        SmsSid: id,
        AccountSid: this.accountSid,
        From: m.from,
        To: m.to,
        Body: m.body,
        NumMedia: '0',
        NumSegments: '1',
        ApiVersion: '2010-04-01',
        ...(m.buttonPayload !== undefined ? { ButtonPayload: m.buttonPayload, ButtonText: m.body } : {}),
        // Advanced Opt-Out: Twilio recognised a keyword it was configured with, and answered it
        ...(m.optOutType !== undefined ? { OptOutType: m.optOutType } : {}),
      },
      signWith,
    );
  }
}
