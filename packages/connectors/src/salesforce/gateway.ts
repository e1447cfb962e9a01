/**
 * Every call Signalbox makes to Salesforce goes through here, through jsforce 3.10.16: one
 * `Connection` per org (keyed by its 18-character Organization Id) with an explicit API version and
 * `callOptions.client` (so CDC's `changeOrigin` names our own writes), one Bottleneck limiter per
 * org paced from `Sforce-Limit-Info`, a pause with back-off on REQUEST_LIMIT_EXCEEDED, and one
 * token refresh at a time per org (jsforce#1170): a refresh token or JWT grant Salesforce refuses
 * (`invalid_grant`) disables the org ("connect it again"), it is never retried.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Bottleneck from 'bottleneck';
import { Connection, OAuth2 } from 'jsforce';
import { type Limiters, retune } from '../limits/limiters.js';
import { LocalLimiters } from '../limits/local/local-limiters.js';
import { OrgDisabledError, SalesforceApiError, SalesforceConfigError, SalesforceLimitError } from './errors.js';
import { toId18 } from './ids.js';
import { JWT_BEARER_GRANT, jwtAssertion } from './jwt-bearer.js';
import { LimitPacer, type PacerOptions } from './limit-pacer.js';

/** An org's credentials as we keep them (the app's store encrypts them at rest). */
export interface SalesforceOrgTokens {
  orgId: string;
  userId: string;
  instanceUrl: string;
  /** The login URL the org authorises against (login/test.salesforce.com or its My Domain). */
  loginUrl: string;
  accessToken: string;
  /** How a new access token is obtained: a refresh token (web server flow) or a JWT for a user. */
  grant: { kind: 'refresh_token'; refreshToken: string } | { kind: 'jwt'; username: string };
  /** epoch ms, from Salesforce's `issued_at` */
  issuedAt: number;
}

/** Where tokens live; the app implements it on its store (encrypted, as DbTokenStore does for HubSpot). */
export interface SalesforceTokenStore {
  get(orgId: string): Promise<SalesforceOrgTokens | null>;
  save(tokens: SalesforceOrgTokens): Promise<void>;
  /** Salesforce refused the grant: never call the org again until an admin connects it again. */
  disable(orgId: string, reason: string): Promise<void>;
}

export interface SalesforceAppConfig {
  /** The connected app's consumer key and secret. */
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Default https://login.salesforce.com (tests: the fake). */
  loginUrl?: string;
  /** Always explicit: jsforce would otherwise use 50.0. */
  apiVersion?: string;
  /** Sent as `Sforce-Call-Options: client=<this>` on every REST call; CDC's changeOrigin carries it. */
  callOptionsClient?: string;
  scopes?: readonly string[];
  /** The JWT bearer flow: the private key whose certificate is uploaded to the connected app. */
  jwt?: { privateKeyPem: string };
}

/** What the app can show or report about an org's use of its limits. */
export interface SalesforceLimits {
  orgId: string;
  apiUsage: { used: number; limit: number; ratio: number } | null;
  pacing: 'normal' | 'slowed' | 'paused';
  minTimeMs: number;
  pausedUntil: string | null;
  requestLimitExceeded: number;
  queued: number;
  running: number;
}

export const DEFAULT_API_VERSION = '60.0';
export const DEFAULT_SCOPES = ['api', 'refresh_token'] as const;

interface OrgState {
  limiter: Bottleneck;
  pacer: LimitPacer;
  /** the spacing last given to the limiter (a change on a shared limiter is a Redis round trip) */
  minTime: number;
}

const errorCodeOf = (e: unknown): string | undefined => (e as { errorCode?: unknown })?.errorCode as string | undefined;

/** jsforce's API errors carry Salesforce's errorCode; anything else (network) stays as it is. */
export function toApiError(e: unknown): unknown {
  const code = errorCodeOf(e);
  if (typeof code !== 'string' || e instanceof SalesforceApiError) return e;
  if (/^ERROR_HTTP_\d+$/.test(code)) {
    // a request read as text (CSV results) leaves Salesforce's JSON error body unparsed
    try {
      const [first] = JSON.parse((e as Error).message) as Array<{ errorCode?: unknown; message?: unknown }>;
      if (typeof first?.errorCode === 'string') return new SalesforceApiError(first.errorCode, String(first.message ?? ''));
    } catch {
      // not JSON: keep jsforce's code
    }
  }
  const data = (e as { data?: { fields?: unknown } }).data;
  const fields = Array.isArray(data?.fields) ? (data.fields as string[]) : [];
  return new SalesforceApiError(code, (e as Error).message, fields);
}

export class SalesforceGateway {
  private readonly orgs = new Map<string, OrgState>();
  private readonly conns = new Map<string, Promise<Connection>>();
  private readonly refreshing = new Map<string, Promise<SalesforceOrgTokens>>();
  private readonly disabled = new Map<string, string>();
  private readonly refreshListeners = new Map<string, Set<(t: SalesforceOrgTokens) => void>>();
  /** Token refreshes made (one per burst of 401s, however many callers saw them). */
  refreshes = 0;
  readonly version: string;
  readonly client: string;
  private readonly limiters: Limiters;

  constructor(
    readonly app: SalesforceAppConfig,
    private readonly tokens: SalesforceTokenStore,
    private readonly opts: {
      now?: () => number;
      maxConcurrent?: number;
      pace?: PacerOptions;
      /** Where the orgs' limiters come from (shared by every instance on Redis); default: this gateway's own. */
      limiters?: Limiters;
    } = {},
  ) {
    this.limiters = opts.limiters ?? new LocalLimiters();
    this.version = app.apiVersion ?? DEFAULT_API_VERSION;
    this.client = app.callOptionsClient ?? 'signalbox';
    if (!/^\d+\.0$/.test(this.version)) throw new SalesforceConfigError([{ path: '/apiVersion', message: 'must look like 60.0' }]);
    if (!/^[\w-]{1,40}$/.test(this.client))
      throw new SalesforceConfigError([{ path: '/callOptionsClient', message: 'letters, digits, _ and - only' }]);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private oauth2(loginUrl?: string): OAuth2 {
    return new OAuth2({
      clientId: this.app.clientId,
      clientSecret: this.app.clientSecret,
      redirectUri: this.app.redirectUri,
      loginUrl: loginUrl ?? this.loginUrl(),
    });
  }

  private loginUrl(): string {
    return this.app.loginUrl ?? 'https://login.salesforce.com';
  }

  /** Where an admin approves the connected app; `state` is signed by the caller and comes back. */
  authorizeUrl(state: string, opts: { loginUrl?: string } = {}): string {
    return this.oauth2(opts.loginUrl).getAuthorizationUrl({ scope: (this.app.scopes ?? DEFAULT_SCOPES).join(' '), state });
  }

  /** Token response → our record, after checking Salesforce's signature over `id + issued_at`. */
  private async accept(res: Record<string, unknown>, loginUrl: string, grant: SalesforceOrgTokens['grant']): Promise<SalesforceOrgTokens> {
    const id = String(res.id ?? '');
    const issued = String(res.issued_at ?? '');
    const expected = createHmac('sha256', this.app.clientSecret)
      .update(id + issued)
      .digest();
    const got = Buffer.from(String(res.signature ?? ''), 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      throw new SalesforceApiError('INVALID_SIGNATURE', 'the token response signature does not match id + issued_at');
    const m = /\/id\/([a-zA-Z0-9]{15,18})\/([a-zA-Z0-9]{15,18})$/.exec(id);
    const orgId = m ? toId18(m[1] as string) : null;
    const userId = m ? toId18(m[2] as string) : null;
    if (orgId === null || userId === null)
      throw new SalesforceApiError('INVALID_IDENTITY', `the token response's id URL names no org: ${id}`);
    const tokens: SalesforceOrgTokens = {
      orgId,
      userId,
      instanceUrl: String(res.instance_url),
      loginUrl,
      accessToken: String(res.access_token),
      grant,
      issuedAt: Number(issued) || this.now(),
    };
    this.disabled.delete(orgId);
    await this.tokens.save(tokens);
    // a reconnected org starts with a fresh Connection on its new tokens
    this.conns.delete(orgId);
    return tokens;
  }

  /** The OAuth callback of the web server flow: exchanges the code, stores the org's tokens. */
  async connectWithCode(code: string, opts: { loginUrl?: string } = {}): Promise<SalesforceOrgTokens> {
    const loginUrl = opts.loginUrl ?? this.loginUrl();
    const res = (await this.oauth2(loginUrl).requestToken(code)) as unknown as Record<string, unknown>;
    if (typeof res.refresh_token !== 'string')
      throw new SalesforceApiError('NO_REFRESH_TOKEN', 'the connected app must grant the refresh_token scope');
    return this.accept(res, loginUrl, { kind: 'refresh_token', refreshToken: res.refresh_token });
  }

  private assertion(username: string, loginUrl: string): string {
    if (this.app.jwt === undefined)
      throw new SalesforceConfigError([{ path: '/jwt/privateKeyPem', message: 'the JWT bearer flow needs a private key' }]);
    return jwtAssertion({
      clientId: this.app.clientId,
      username,
      audience: loginUrl,
      privateKeyPem: this.app.jwt.privateKeyPem,
      nowMs: this.now(),
    });
  }

  /** Server-to-server: a JWT signed with our key for a user pre-authorised on the connected app. */
  async connectWithJwt(username: string, opts: { loginUrl?: string } = {}): Promise<SalesforceOrgTokens> {
    const loginUrl = opts.loginUrl ?? this.loginUrl();
    const res = (await this.oauth2(loginUrl).requestToken({
      grant_type: JWT_BEARER_GRANT,
      assertion: this.assertion(username, loginUrl),
    })) as unknown as Record<string, unknown>;
    return this.accept(res, loginUrl, { kind: 'jwt', username });
  }

  /** A new access token for the org, one request at a time however many callers ask. */
  refresh(orgId: string): Promise<SalesforceOrgTokens> {
    let p = this.refreshing.get(orgId);
    if (p !== undefined) return p;
    p = (async () => {
      try {
        const t = await this.tokens.get(orgId);
        if (t === null) throw new OrgDisabledError(orgId, 'it is not connected');
        const oauth2 = this.oauth2(t.loginUrl);
        const res = (t.grant.kind === 'refresh_token'
          ? await oauth2.refreshToken(t.grant.refreshToken)
          : await oauth2.requestToken({
              grant_type: JWT_BEARER_GRANT,
              assertion: this.assertion(t.grant.username, t.loginUrl),
            })) as unknown as Record<string, unknown>;
        const grant: SalesforceOrgTokens['grant'] =
          t.grant.kind === 'refresh_token' && typeof res.refresh_token === 'string'
            ? { kind: 'refresh_token', refreshToken: res.refresh_token }
            : t.grant;
        const next: SalesforceOrgTokens = {
          ...t,
          accessToken: String(res.access_token),
          instanceUrl: typeof res.instance_url === 'string' ? res.instance_url : t.instanceUrl,
          issuedAt: Number(res.issued_at) || this.now(),
          grant,
        };
        await this.tokens.save(next);
        this.refreshes++;
        const conn = await this.conns.get(orgId);
        if (conn) {
          conn.accessToken = next.accessToken;
          conn.instanceUrl = next.instanceUrl;
        }
        for (const l of this.refreshListeners.get(orgId) ?? []) l(next);
        return next;
      } catch (e) {
        // invalid_grant from the token endpoint means re-authorisation, not a retry (jsforce#1170)
        if ((e as Error).name === 'invalid_grant') {
          const reason = `Salesforce refused the ${(e as Error).message ? `grant (${(e as Error).message})` : 'grant'}`;
          this.disabled.set(orgId, reason);
          this.conns.delete(orgId);
          await this.tokens.disable(orgId, reason);
          throw new OrgDisabledError(orgId, reason);
        }
        throw e;
      } finally {
        this.refreshing.delete(orgId);
      }
    })();
    this.refreshing.set(orgId, p);
    return p;
  }

  /** Called after every refresh of the org's token (the CDC subscriber rebuilds its client). */
  onRefresh(orgId: string, listener: (t: SalesforceOrgTokens) => void): () => void {
    const set = this.refreshListeners.get(orgId) ?? new Set();
    set.add(listener);
    this.refreshListeners.set(orgId, set);
    return () => set.delete(listener);
  }

  /** The org's jsforce Connection (REST calls should go through `call` for pacing). */
  connection(orgId: string): Promise<Connection> {
    const disabled = this.disabled.get(orgId);
    if (disabled !== undefined) return Promise.reject(new OrgDisabledError(orgId, disabled));
    let c = this.conns.get(orgId);
    if (c === undefined) {
      c = (async () => {
        const t = await this.tokens.get(orgId);
        if (t === null) throw new OrgDisabledError(orgId, 'it is not connected');
        return new Connection({
          instanceUrl: t.instanceUrl,
          accessToken: t.accessToken,
          version: this.version,
          oauth2: {
            clientId: this.app.clientId,
            clientSecret: this.app.clientSecret,
            redirectUri: this.app.redirectUri,
            loginUrl: t.loginUrl,
          },
          callOptions: { client: this.client },
          // our refresh instead of jsforce's: one per org across connections and the CDC client,
          // JWT orgs (no refresh token) refresh too, and invalid_grant disables the org
          refreshFn: (_conn, callback) => {
            this.refresh(orgId).then(
              (n) => callback(null, n.accessToken),
              (err: Error) => callback(err),
            );
          },
        });
      })();
      c.catch(() => this.conns.delete(orgId));
      this.conns.set(orgId, c);
    }
    return c;
  }

  private state(orgId: string): OrgState {
    let s = this.orgs.get(orgId);
    if (s === undefined) {
      const pacer = new LimitPacer(this.opts.pace);
      const minTime = pacer.minTime();
      // one limit per org for every instance (the ids are the same everywhere)
      // a call waits out REQUEST_LIMIT_EXCEEDED pauses inside its job: its job may last them all
      const limiter = this.limiters.limiter(
        `salesforce:org:${orgId}`,
        { maxConcurrent: this.opts.maxConcurrent ?? 10, minTime },
        { expirationMs: (pacer.maxRetries + 1) * pacer.maxBackoff + 120_000 },
      );
      s = { pacer, limiter, minTime };
      this.orgs.set(orgId, s);
    }
    return s;
  }

  /**
   * Runs `fn` with the org's Connection, paced by its limiter. REQUEST_LIMIT_EXCEEDED pauses the
   * org and retries after the back-off (then gives up with SalesforceLimitError); Salesforce's other
   * errors come back as SalesforceApiError with their errorCode.
   */
  call<T>(orgId: string, fn: (conn: Connection) => Promise<T>): Promise<T> {
    const s = this.state(orgId);
    return s.limiter.schedule(() => this.attempt(orgId, s, fn, 0));
  }

  private async attempt<T>(orgId: string, s: OrgState, fn: (conn: Connection) => Promise<T>, retry: number): Promise<T> {
    const wait = s.pacer.pausedUntil - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const conn = await this.connection(orgId);
    try {
      const r = await fn(conn);
      this.observe(s, conn);
      s.pacer.succeeded();
      return r;
    } catch (e) {
      this.observe(s, conn);
      const disabled = this.disabled.get(orgId);
      if (disabled !== undefined) throw new OrgDisabledError(orgId, disabled);
      if (errorCodeOf(e) === 'REQUEST_LIMIT_EXCEEDED') {
        const until = s.pacer.limitExceeded(Date.now());
        if (retry >= s.pacer.maxRetries) throw new SalesforceLimitError(orgId, until, (e as Error).message);
        return this.attempt(orgId, s, fn, retry + 1);
      }
      throw toApiError(e);
    }
  }

  private observe(s: OrgState, conn: Connection): void {
    s.pacer.observe(conn.limitInfo.apiUsage);
    const minTime = s.pacer.minTime();
    if (minTime === s.minTime) return;
    s.minTime = minTime;
    void retune(s.limiter, { minTime });
  }

  /** The org's limits as last seen, and how we pace it. */
  limits(orgId: string): SalesforceLimits {
    const s = this.state(orgId);
    const u = s.pacer.usage;
    const counts = s.limiter.counts();
    const paused = s.pacer.pausedUntil > Date.now();
    const minTimeMs = s.pacer.minTime();
    return {
      orgId,
      apiUsage: u === null ? null : { ...u, ratio: u.limit > 0 ? u.used / u.limit : 1 },
      pacing: paused ? 'paused' : minTimeMs > s.pacer.base ? 'slowed' : 'normal',
      minTimeMs,
      pausedUntil: paused ? new Date(s.pacer.pausedUntil).toISOString() : null,
      requestLimitExceeded: s.pacer.requestLimitExceeded,
      queued: (counts.QUEUED ?? 0) + (counts.RECEIVED ?? 0),
      running: (counts.RUNNING ?? 0) + (counts.EXECUTING ?? 0),
    };
  }

  /** `GET /limits`: the org's allocations as Salesforce reports them (DailyApiRequests, DailyBulkV2QueryJobs, …). */
  fetchLimits(orgId: string): Promise<Record<string, { Max: number; Remaining: number }>> {
    return this.call(orgId, (conn) => conn.limits() as unknown as Promise<Record<string, { Max: number; Remaining: number }>>);
  }
}
