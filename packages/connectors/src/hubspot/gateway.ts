import { Client } from '@hubspot/api-client';
import { SignalboxError } from '@signalbox/engine';
import type Bottleneck from 'bottleneck';
import { type Limiters, type Rate, type RequestWindow, retune } from '../limits/limiters.js';
import { LocalLimiters } from '../limits/local/local-limiters.js';

/** A portal's OAuth tokens as we keep them (the store encrypts them at rest). */
export interface PortalTokens {
  portalId: number;
  accessToken: string;
  refreshToken: string;
  /** epoch ms */
  expiresAt: number;
}

/** Where tokens live; the app implements it on its store. */
export interface TokenStore {
  get(portalId: number): Promise<PortalTokens | null>;
  save(tokens: PortalTokens): Promise<void>;
  /** The portal uninstalled the app or revoked us: never call it again until it reinstalls. */
  disable(portalId: number, reason: string): Promise<void>;
}

export interface HubspotAppConfig {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Least scopes Signalbox needs (see integrations/hubspot). */
  scopes: readonly string[];
  /**
   * Scopes the installing user may decline (app-hsmeta.json `optionalScopes`); HubSpot grants only
   * what the install link asks for, so they must be asked for too. Default DEFAULT_OPTIONAL_SCOPES.
   */
  optionalScopes?: readonly string[];
  /** HubSpot's API (tests point it at the fake). */
  basePath?: string;
  /** Where users approve the install. */
  authorizeUrl?: string;
  /** The only portals that may install the app (any, when absent). */
  portalIds?: readonly number[];
}

export const DEFAULT_SCOPES = [
  'oauth',
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.schemas.contacts.write',
  'tickets',
  'crm.objects.deals.read',
  'automation',
] as const;

/**
 * Invoices (payment reminders): a portal may decline it, and its invoice events then go unresolved.
 * Exports (the initial sync of a large portal in one file): only a Super Admin can grant it; without
 * it the sync pages.
 */
export const DEFAULT_OPTIONAL_SCOPES = ['crm.objects.invoices.read', 'crm.export'] as const;

/** HubSpot's published limit for OAuth apps: 100 requests per 10 s per account. */
export const DEFAULT_RATE = { max: 100, intervalMs: 10_000 };
/** Search endpoints: at most 4 per second per token (on top of the rolling limit). */
export const SEARCH_RATE = { max: 4, intervalMs: 1000 };
/** Searches are spaced this far apart; the search ArrivalWindow keeps them under SEARCH_RATE. */
export const SEARCH_MIN_TIME_MS = 250;
/** Refresh this long before the access token expires (HubSpot tokens last 30 minutes). */
const REFRESH_MARGIN_MS = 5 * 60_000;

export class HubspotApiError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly policyName?: string,
  ) {
    super(message);
  }
}

export class PortalDisabledError extends Error {}

/** A portal not among those allowed to install the app (`portalIds`): nothing of it is kept. */
export class PortalNotAllowedError extends SignalboxError {
  constructor(portalId: number) {
    super('PORTAL_NOT_ALLOWED', 403, `HubSpot portal ${portalId} may not install this Signalbox (it is not in HUBSPOT_PORTAL_IDS)`);
  }
}

interface SdkError {
  code?: number;
  body?: { category?: string; message?: string; policyName?: string; status?: string; error?: string };
  headers?: Record<string, string>;
}

function toApiError(e: unknown): HubspotApiError | null {
  const err = e as SdkError;
  if (typeof err?.code !== 'number') return null;
  return new HubspotApiError(
    err.code,
    err.body?.category ?? err.body?.status ?? 'UNKNOWN',
    err.body?.message ?? `HTTP ${err.code}`,
    err.body?.policyName,
  );
}

/**
 * Every call Signalbox makes to HubSpot goes through here: per portal, one Bottleneck limiter
 * (spaced from HubSpot's rolling limit, re-tuned from the X-HubSpot-RateLimit-* headers, 429s
 * retried after the policy's window), a separate pace for search, and tokens refreshed ahead of
 * expiry, one refresh at a time per portal. The SDK's own limiter and retries are off in every
 * Client we build (they are process-wide in the SDK and would fight ours).
 */
export class HubspotGateway {
  private readonly portals = new Map<
    number,
    { api: Bottleneck; search: Bottleneck; rate: Rate; window: RequestWindow; searchWindow: RequestWindow }
  >();
  private readonly limiters: Limiters;
  private readonly refreshing = new Map<number, Promise<PortalTokens>>();
  /** 429s we got back (after our limiter settled, this should stay 0). */
  throttled = 0;

  constructor(
    readonly app: HubspotAppConfig,
    private readonly tokens: TokenStore,
    private readonly opts: {
      rate?: Rate;
      now?: () => number;
      /** Where the portals' limiters come from (shared by every instance on Redis); default: this gateway's own. */
      limiters?: Limiters;
    } = {},
  ) {
    this.limiters = opts.limiters ?? new LocalLimiters();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private base(): string {
    return this.app.basePath ?? 'https://api.hubapi.com';
  }

  /** The URL that starts an install (the user approves the scopes in HubSpot). */
  installUrl(state: string): string {
    const u = new URL(this.app.authorizeUrl ?? 'https://app.hubspot.com/oauth/authorize');
    u.searchParams.set('client_id', this.app.clientId);
    u.searchParams.set('redirect_uri', this.app.redirectUri);
    u.searchParams.set('scope', this.app.scopes.join(' '));
    const optional = this.app.optionalScopes ?? DEFAULT_OPTIONAL_SCOPES;
    if (optional.length > 0) u.searchParams.set('optional_scope', optional.join(' '));
    u.searchParams.set('state', state);
    return u.toString();
  }

  /** POST /oauth/v3/token (form-encoded, secrets in the body: v1 is deprecated from 2027-02-16). */
  private async tokenRequest(
    params: Record<string, string>,
  ): Promise<{ access_token: string; refresh_token: string; expires_in: number; hub_id?: number }> {
    const client = new Client({ basePath: this.base(), numberOfApiCallRetries: 0 });
    const res = await client.apiRequest({
      method: 'POST',
      path: '/oauth/v3/token',
      defaultJson: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: this.app.clientId, client_secret: this.app.clientSecret, ...params }).toString(),
    });
    const json = (await res.json()) as {
      access_token?: string;
      refresh_token?: string;
      expires_in?: number;
      hub_id?: number;
      error?: string;
      status?: string;
      message?: string;
    };
    if (!res.ok || json.access_token === undefined)
      throw new HubspotApiError(res.status, json.status ?? json.error ?? 'OAUTH', json.message ?? `token endpoint answered ${res.status}`);
    return json as { access_token: string; refresh_token: string; expires_in: number; hub_id?: number };
  }

  /** The OAuth callback: exchanges the code, stores the portal's tokens. */
  /** Whether a portal may use the app (`portalIds`; any portal when absent). */
  allows(portalId: number): boolean {
    return this.app.portalIds === undefined || this.app.portalIds.includes(portalId);
  }

  async install(code: string, portalIdHint?: number): Promise<PortalTokens> {
    const t = await this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: this.app.redirectUri });
    const portalId = t.hub_id ?? portalIdHint;
    if (portalId === undefined) throw new HubspotApiError(400, 'OAUTH', 'the token response names no portal');
    // another company's portal does not get to send through this operator's providers and budget
    if (!this.allows(portalId)) throw new PortalNotAllowedError(portalId);
    const tokens = { portalId, accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: this.now() + t.expires_in * 1000 };
    await this.tokens.save(tokens);
    return tokens;
  }

  /** A valid access token, refreshed from `expires_in` (never on a 401), one refresh per portal at a time. */
  async accessToken(portalId: number, force = false): Promise<string> {
    // a portal installed before HUBSPOT_PORTAL_IDS left it out is called no more, as if uninstalled
    if (!this.allows(portalId)) throw new PortalDisabledError(`portal ${portalId} is not among the portals allowed (HUBSPOT_PORTAL_IDS)`);
    const t = await this.tokens.get(portalId);
    if (t === null) throw new PortalDisabledError(`portal ${portalId} has not installed Signalbox (or uninstalled it)`);
    if (!force && t.expiresAt - REFRESH_MARGIN_MS > this.now()) return t.accessToken;
    let p = this.refreshing.get(portalId);
    if (p === undefined) {
      p = (async () => {
        try {
          const r = await this.tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refreshToken });
          const next = {
            portalId,
            accessToken: r.access_token,
            refreshToken: r.refresh_token ?? t.refreshToken,
            expiresAt: this.now() + r.expires_in * 1000,
          };
          await this.tokens.save(next);
          return next;
        } catch (e) {
          // invalid_grant from the refresh itself means re-authorisation, not a retry
          if (e instanceof HubspotApiError && e.status === 400) await this.tokens.disable(portalId, e.message);
          throw e;
        } finally {
          this.refreshing.delete(portalId);
        }
      })();
      this.refreshing.set(portalId, p);
    }
    return (await p).accessToken;
  }

  private limiter(portalId: number) {
    let l = this.portals.get(portalId);
    if (l === undefined) {
      const rate = this.opts.rate ?? DEFAULT_RATE;
      // one limit per portal for every instance (the ids are the same everywhere)
      const id = `hubspot:portal:${portalId}`;
      const api = this.limiters.limiter(id, { maxConcurrent: 10, minTime: Math.ceil((rate.intervalMs / rate.max) * 1.02) });
      const search = this.limiters.limiter(`${id}:search`, { maxConcurrent: 1, minTime: SEARCH_MIN_TIME_MS });
      search.chain(api);
      for (const b of [api, search]) {
        b.on('failed', (err: unknown, info: { retryCount: number }) => {
          const e = err as HubspotApiError;
          if (!(e instanceof HubspotApiError) || e.status !== 429 || info.retryCount >= 5) return undefined;
          if (e.policyName === 'DAILY') return undefined; // parked until tomorrow by the caller
          return e.policyName === 'SECONDLY' ? 1000 : (this.portals.get(portalId)?.rate.intervalMs ?? 10_000);
        });
      }
      // the limiters space starts evenly; the windows make sure arrivals (what HubSpot counts) fit
      l = { api, search, rate, window: this.limiters.window(id, rate), searchWindow: this.limiters.window(`${id}:search`, SEARCH_RATE) };
      this.portals.set(portalId, l);
    }
    return l;
  }

  /** Re-tunes the portal's pace from the headers HubSpot returned. */
  private observe(portalId: number, headers: Record<string, string> | undefined): void {
    if (headers === undefined) return;
    const max = Number(headers['x-hubspot-ratelimit-max']);
    const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
    const l = this.limiter(portalId);
    if (
      Number.isFinite(max) &&
      max > 0 &&
      Number.isFinite(interval) &&
      interval > 0 &&
      (max !== l.rate.max || interval !== l.rate.intervalMs)
    ) {
      l.rate = { max, intervalMs: interval };
      l.window.limit = l.rate;
      void retune(l.api, { minTime: Math.ceil((interval / max) * 1.02) });
    }
  }

  /**
   * Runs `fn` with a Client for the portal, paced by its limiter. 429s are retried after the
   * policy's window; other errors come back as HubspotApiError.
   */
  async call<T>(portalId: number, fn: (client: Client) => Promise<T>, kind: 'api' | 'search' = 'api'): Promise<T> {
    const l = this.limiter(portalId);
    const b = kind === 'search' ? l.search : l.api;
    const attempt = async (force: boolean): Promise<T> => {
      const client = new Client({
        accessToken: await this.accessToken(portalId, force),
        basePath: this.base(),
        numberOfApiCallRetries: 0,
      });
      const releases: Array<() => void> = [];
      try {
        // (a window on Redis can fail to answer: what was acquired is still released)
        if (kind === 'search') releases.push(await l.searchWindow.acquire());
        releases.push(await l.window.acquire());
        return await fn(client);
      } catch (e) {
        const api = toApiError(e);
        if (api === null) throw e;
        this.observe(portalId, (e as SdkError).headers);
        if (api.status === 429) this.throttled++;
        throw api;
      } finally {
        for (const release of releases) release();
      }
    };
    return b.schedule(async () => {
      try {
        return await attempt(false);
      } catch (e) {
        // refresh follows expires_in; a 401 all the same (revoked, uninstalled) gets one forced
        // refresh: if HubSpot refuses that too, the portal is disabled by accessToken()
        if (!(e instanceof HubspotApiError) || e.status !== 401) throw e;
        return attempt(true);
      }
    });
  }

  /** Raw request through the same gate (the headers are observed). */
  async request(portalId: number, opts: { method: string; path: string; body?: unknown; qs?: Record<string, string> }): Promise<unknown> {
    return this.call(portalId, async (client) => {
      const res = await client.apiRequest({
        method: opts.method,
        path: opts.path,
        ...(opts.body === undefined ? {} : { body: opts.body }),
        ...(opts.qs ? { qs: opts.qs } : {}),
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((v: string, k: string) => {
        headers[k] = v;
      });
      this.observe(portalId, headers);
      const text = await res.text();
      const json = text === '' ? null : (JSON.parse(text) as unknown);
      if (!res.ok) {
        const b = (json ?? {}) as { category?: string; message?: string; policyName?: string };
        throw Object.assign(new Error(b.message ?? `HTTP ${res.status}`), { code: res.status, body: b, headers });
      }
      return json;
    });
  }
}
