/**
 * A local Salesforce speaking the real wire format for what Signalbox uses, so tests drive real
 * jsforce 3.10.16 against it: OAuth 2.0 (web server flow, refresh, JWT bearer), the REST API
 * (query paging, sObjects, upsert by external id, Collections, /limits), Bulk API 2.0 query jobs,
 * CometD with Change Data Capture, `Sforce-Limit-Info` on every REST answer, the daily allocation
 * (`REQUEST_LIMIT_EXCEEDED`), `INVALID_SESSION_ID`, injected failures and a request log. It can also
 * send Outbound Messages and re-send them until acknowledged.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBulk } from './fake-bulk.js';
import { changeEventChannel, FakeCometd } from './fake-cometd.js';
import { FakeOAuth, OAuthError } from './fake-oauth.js';
import { type ChangeOrigin, FakeOrg, type Row, SfError } from './fake-org.js';
import { FakeRest } from './fake-rest.js';
import { fakeId } from './fake-schema.js';
import { type DeliveryAttempt, deliverOutboundMessage, type OutboundMessage } from './outbound-sender.js';

export interface FakeSalesforceOptions {
  clientId?: string;
  clientSecret?: string;
  /** The clock for tokens, modstamps, CDC retention (tests move it). */
  now?: () => number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  orgId: string | null;
  /** The `Sforce-Call-Options` header, if sent. */
  callOptions: string | null;
  at: number;
}

interface Injected {
  method: string | undefined;
  path: RegExp;
  times: number;
  status: number;
  errorCode: string;
  message: string;
}

export class FakeSalesforce {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly orgs = new Map<string, FakeOrg>();
  readonly log: RequestLogEntry[] = [];
  readonly oauth: FakeOAuth;
  readonly bulk: FakeBulk;
  readonly cometd: FakeCometd;
  private readonly rest: FakeRest;
  private readonly injected: Injected[] = [];
  private server: Server | null = null;
  private readonly now: () => number;
  url = '';

  constructor(o: FakeSalesforceOptions = {}) {
    this.clientId = o.clientId ?? '3MVG9fake.consumer.key';
    this.clientSecret = o.clientSecret ?? 'fake-consumer-secret-0123456789';
    this.now = o.now ?? Date.now;
    this.oauth = new FakeOAuth(this.clientId, this.clientSecret, this.now);
    this.bulk = new FakeBulk(this.now);
    this.rest = new FakeRest(this.bulk, this.now);
    this.cometd = new FakeCometd(this.now, (orgId) => {
      const org = this.orgs.get(orgId);
      const set = new Set<string>(['/data/ChangeEvents']);
      for (const t of org?.tables.values() ?? []) if (t.def.cdc) set.add(changeEventChannel(t.def.name));
      return set;
    });
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.cometd.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ------------------------------------------------------------------ scripting (tests, benches)

  /** An org (created on first use). Options apply when it is created. */
  org(id?: string, opts: { signalboxFields?: boolean; consentObjects?: boolean } = {}): FakeOrg {
    const orgId = id ?? fakeId('00D', this.orgs.size + 1);
    let org = this.orgs.get(orgId);
    if (org === undefined) {
      org = new FakeOrg(orgId, {
        signalboxFields: opts.signalboxFields ?? true,
        consentObjects: opts.consentObjects ?? true,
        now: this.now,
      });
      org.onChange = (c) => this.cometd.publish(orgId, c, '60.0');
      this.orgs.set(orgId, org);
    }
    return org;
  }

  /** Tokens for the org's integration user, without the browser (what `install` would get). */
  issueTokens(orgId: string): Record<string, string> {
    const org = this.org(orgId);
    return this.oauth.issue(org.id, org.integrationUserId, this.url);
  }

  /** An authorization code for the org's integration user, as the redirect after an admin approves. */
  authorizationCode(orgId: string, redirectUri: string): string {
    const org = this.org(orgId);
    return this.oauth.code(org.id, org.integrationUserId, redirectUri);
  }

  /** A key pair for the JWT bearer flow: the fake keeps the certificate, you get the private key. */
  jwtKeyPair(): string {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.oauth.jwtPublicKey = publicKey;
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** A user of the org pre-authorised for the connected app (JWT bearer flow's `sub`). */
  jwtUser(orgId: string, username: string, approved = true): void {
    const org = this.org(orgId);
    const userId = org.users.get(username) ?? (org.insert('User', { Username: username }, { api: 'ui' }).Id as string);
    org.users.set(username, userId);
    this.oauth.users.set(username, { orgId: org.id, userId, approved });
  }

  /** N contacts with e-mail, mobile and country, generated on demand (cheap at a million). */
  seedContacts(orgId: string, count: number): void {
    this.org(orgId).seed('Contact', count, (i) => ({
      FirstName: 'Contact',
      LastName: `N${i}`,
      Email: `Contact${i}@Example.com`,
      Phone: null,
      MobilePhone: `+2547${String(i).padStart(8, '0')}`,
      HasOptedOutOfEmail: i % 10 === 0,
      DoNotCall: i % 25 === 0,
      IndividualId: null,
      AccountId: null,
      MailingCountryCode: 'KE',
      OwnerId: null,
    }));
  }

  seedLeads(orgId: string, count: number): void {
    this.org(orgId).seed('Lead', count, (i) => ({
      FirstName: 'Lead',
      LastName: `L${i}`,
      Company: `Company ${i}`,
      Email: `lead${i}@example.com`,
      Phone: `+1 (555) 01${String(i % 100).padStart(2, '0')}`,
      MobilePhone: null,
      HasOptedOutOfEmail: false,
      DoNotCall: false,
      IndividualId: null,
      Status: 'Open - Not Contacted',
      IsConverted: false,
      ConvertedContactId: null,
      CountryCode: 'US',
      OwnerId: null,
    }));
  }

  /** A user edits a record in Lightning (no changeOrigin on the CDC event). */
  userUpdates(orgId: string, type: string, id: string, fields: Row): Row {
    return this.org(orgId).update(type, id, fields, { api: 'ui' });
  }

  userCreates(orgId: string, type: string, fields: Row): Row {
    return this.org(orgId).insert(type, fields, { api: 'ui' });
  }

  /** The next `times` requests matching `path` (and `method`) get this error instead. */
  failNext(match: { method?: string; path: RegExp }, error: { status: number; errorCode: string; message: string }, times = 1): void {
    this.injected.push({ method: match.method, path: match.path, times, ...error });
  }

  /** Salesforce sends an Outbound Message and re-sends it until it is acknowledged. */
  deliverOutboundMessage(
    url: string,
    m: Omit<OutboundMessage, 'instanceUrl'>,
    opts?: Parameters<typeof deliverOutboundMessage>[2],
  ): Promise<{ acked: boolean; attempts: DeliveryAttempt[] }> {
    return deliverOutboundMessage(url, { ...m, instanceUrl: this.url }, opts);
  }

  // ------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const callOptions = (req.headers['sforce-call-options'] as string | undefined) ?? null;
    let orgId: string | null = null;
    const send = (status: number, body: string, headers: Record<string, string>) => {
      this.log.push({ method, path: url.pathname, status, orgId, callOptions, at: this.now() });
      res.writeHead(status, headers);
      res.end(body);
    };
    const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      send(status, body === undefined ? '' : JSON.stringify(body), { 'content-type': 'application/json;charset=UTF-8', ...extra });

    try {
      if (url.pathname === '/services/oauth2/token' && method === 'POST') {
        json(200, this.oauth.token(new URLSearchParams(raw), this.url, this.url));
        return;
      }
      if (url.pathname === '/services/oauth2/authorize' && method === 'GET') {
        const org = this.org(url.searchParams.get('org') ?? [...this.orgs.keys()][0]);
        send(302, '', { location: this.oauth.authorize(url.searchParams, { orgId: org.id, userId: org.integrationUserId }) });
        return;
      }
      const cometd = /^\/cometd\/(\d+\.\d)$/.exec(url.pathname);
      if (cometd && method === 'POST') {
        const grant = this.oauth.check(req.headers.authorization);
        orgId = grant?.orgId ?? null;
        const replies = await this.cometd.handle(grant, JSON.parse(raw) as Array<Record<string, unknown>>);
        if (!res.destroyed) json(200, replies);
        return;
      }
      if (url.pathname === '/services/data' || url.pathname === '/services/data/') {
        json(
          200,
          ['58.0', '59.0', '60.0', '61.0', '62.0'].map((v) => ({ label: 'Fake', url: `/services/data/v${v}`, version: v })),
        );
        return;
      }
      const data = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/.exec(url.pathname);
      if (!data) {
        json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
        return;
      }
      const version = data[1] as string;
      const grant = this.oauth.check(req.headers.authorization);
      if (grant === null) {
        json(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
        return;
      }
      orgId = grant.orgId;
      const org = this.org(grant.orgId);
      const limitInfo = () => ({ 'sforce-limit-info': `api-usage=${org.apiUsage.used}/${org.apiUsage.limit}` });
      if (org.apiUsage.used >= org.apiUsage.limit) {
        json(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], limitInfo());
        return;
      }
      org.apiUsage.used++;
      const inj = this.injected.find((i) => i.times > 0 && (i.method === undefined || i.method === method) && i.path.test(url.pathname));
      if (inj) {
        inj.times--;
        json(inj.status, [{ message: inj.message, errorCode: inj.errorCode }], limitInfo());
        return;
      }
      const body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
      const client = /client=([^,\s]+)/.exec(callOptions ?? '')?.[1];
      const origin: ChangeOrigin = { api: 'rest', ...(client ? { client } : {}) };
      const r = this.rest.route(org, version, method, data[2] ?? '', url, body, req.headers, origin, grant.userId);
      if (r.contentType === 'text/csv')
        send(r.status, String(r.body), { 'content-type': 'text/csv', ...limitInfo(), ...(r.headers ?? {}) });
      else json(r.status, r.body, { ...limitInfo(), ...(r.headers ?? {}) });
    } catch (e) {
      if (e instanceof OAuthError) json(e.status, { error: e.error, error_description: e.message });
      else if (e instanceof SfError) {
        const org = orgId ? this.orgs.get(orgId) : undefined;
        json(
          e.status,
          [{ message: e.message, errorCode: e.errorCode, ...(e.fields.length ? { fields: e.fields } : {}) }],
          org ? { 'sforce-limit-info': `api-usage=${org.apiUsage.used}/${org.apiUsage.limit}` } : {},
        );
      } else if (e instanceof SyntaxError) json(400, [{ message: 'Unexpected character in JSON', errorCode: 'JSON_PARSER_ERROR' }]);
      else json(500, [{ message: (e as Error).message, errorCode: 'UNKNOWN_EXCEPTION' }]);
    }
  }
}
