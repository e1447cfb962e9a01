/**
 * A local HubSpot that speaks the real wire format for what Signalbox uses (tests drive the real
 * @hubspot/api-client against it through `basePath`), held to HubSpot's published API
 * (conformance/*.conformance.test.ts check every answer against conformance/shapes.ts):
 * - OAuth: the install screen, code exchange and refresh on /oauth/v1, /v3 and /2026-03/token,
 *   token answers with `scopes`, `hub_id`, `token_use`, `expires_in`; every API call checked
 *   against the token's scopes (403 `MISSING_SCOPES`, HubSpot's body).
 * - CRM: contacts, tickets, deals, invoices, communications and notes (get, page, search, create
 *   with associations, update, batch read with 207 `errors[]`, batch upsert), property groups and
 *   properties; writes refused as HubSpot refuses them (`PROPERTY_DOESNT_EXIST`,
 *   `INVALID_OPTION`, `INVALID_ASSOCIATION_TYPE`).
 * - CRM exports (`fake-exports.ts`): tasks PENDING → PROCESSING → COMPLETE, one at a time per
 *   account, signed download URLs that expire after five minutes, CSV zipped over 2 MB;
 *   `exports.hold` / `exports.release()` / `exports.cancel(taskId)` for tests.
 * - Custom workflow action callbacks: completed once, refused when expired, already completed,
 *   unknown, or with an output value outside the action definition's options.
 * - Limits: the ten-second rolling limit (429 `TEN_SECONDLY_ROLLING` with X-HubSpot-RateLimit-*
 *   headers) and search's per-second limit (429 `SECONDLY`).
 * It also *sends* what HubSpot sends: signed webhooks, action executions and card fetches.
 *
 * Knobs for tests (defaults keep every install fully granted and nothing refused that a correct
 * client does):
 * - `new FakeHubspot({ rateLimit, searchRateLimit, tokenTtlSeconds, callbackTtlMs, now })`;
 *   `fake.rateLimit` and `fake.searchRateLimit` can be changed at any time.
 * - `authorizationCode(portalId, { scopes?, decline? })`: a code granting `scopes` (default: every
 *   scope the fake knows, `ALL_SCOPES`) minus `decline`.
 * - `authorize(installUrl, { portalId, decline? })`: the install screen for the URL our gateway
 *   builds: grants its `scope` and its `optional_scope` less `decline`; returns the redirect URL
 *   (with `code` and `state`).
 * - `issueTokens(portalId, { scopes? })`: tokens without the install flow.
 * - `defineAction(definitionId, config)`: an action definition (the `config` of a workflow-action
 *   `*-hsmeta.json`) whose output options completions are checked against.
 * - `issueCallback(portalId, callbackId, { definitionId? })`: a blocked execution to complete
 *   (`sendCustomAction` issues one for the payload's `callbackId` and `origin`);
 *   `expireCallback(callbackId)` makes it expire now.
 * - `uninstall(portalId)`: every token of the portal stops working.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeActionDefinition, FakeCallbacks } from './fake-callbacks.js';
import { objectType } from './fake-catalogue.js';
import { HsError, missingScopes, rateLimitBody } from './fake-errors.js';
import { FakeExports } from './fake-exports.js';
import { FakeOAuth, type TokenAnswer } from './fake-oauth.js';
import { objectRoutes } from './fake-objects.js';
import { type FakeObject, type FakePortal, newPortal, writeObject } from './fake-portal.js';
import { propertyRoutes } from './fake-properties.js';
import { ALL_SCOPES, scopesFor } from './fake-scopes.js';
import { fetchFromCard, sendCustomAction, sendWebhooks } from './fake-sends.js';

export type { FakeObject, FakePortal } from './fake-portal.js';

export interface FakeHubspotOptions {
  clientId?: string;
  clientSecret?: string;
  /** Requests per interval per portal before 429 (HubSpot's OAuth apps: 100 per 10 s). */
  rateLimit?: { max: number; intervalMs: number };
  /** Search requests per interval per portal before 429 SECONDLY (HubSpot: 4 per second per token). */
  searchRateLimit?: { max: number; intervalMs: number };
  /** Access token lifetime in seconds (HubSpot: 1800). */
  tokenTtlSeconds?: number;
  /** How long a blocked action waits for its callback (HubSpot's default: a week). */
  callbackTtlMs?: number;
  /** Clock for token expiry, callbacks and rate windows (tests move it). */
  now?: () => number;
  /** Exports: rows written per slice while PROCESSING, and a wait before an export's turn (tests see PENDING). */
  exports?: { rowsPerSlice?: number; queueDelayMs?: number };
}

export interface RequestLogEntry {
  method: string;
  path: string;
  portalId: number | null;
  status: number;
  at: number;
}

type Window = { max: number; intervalMs: number };

/** Counts a request in a rolling window unless the window is full; returns whether it was refused. */
function take(window: number[], limit: Window, now: number): boolean {
  while (window.length > 0 && (window[0] as number) <= now - limit.intervalMs) window.shift();
  if (window.length >= limit.max) return true;
  window.push(now);
  return false;
}

export class FakeHubspot {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly portals = new Map<number, FakePortal>();
  readonly log: RequestLogEntry[] = [];
  url = '';
  rateLimit: Window;
  searchRateLimit: Window;
  private readonly now: () => number;
  private readonly oauth: FakeOAuth;
  private readonly callbacks: FakeCallbacks;
  /** The CRM exports API (tasks, files); `exports.cancel(taskId)` cancels one. */
  readonly exports: FakeExports;
  private server: Server | null = null;
  private nextId = 1000;

  constructor(o: FakeHubspotOptions = {}) {
    this.clientId = o.clientId ?? 'fake-client-id';
    this.clientSecret = o.clientSecret ?? 'fake-client-secret-0123456789';
    this.rateLimit = o.rateLimit ?? { max: 100, intervalMs: 10_000 };
    this.searchRateLimit = o.searchRateLimit ?? { max: 4, intervalMs: 1000 };
    this.now = o.now ?? Date.now;
    this.oauth = new FakeOAuth(this.clientId, this.clientSecret, o.tokenTtlSeconds ?? 1800, this.now);
    this.callbacks = new FakeCallbacks(this.now, o.callbackTtlMs ?? 7 * 86_400_000);
    this.exports = new FakeExports({ now: this.now, ...o.exports }, (id) => this.portal(id));
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ------------------------------------------------------------------ state and knobs (tests)

  portal(id: number): FakePortal {
    let p = this.portals.get(id);
    if (p === undefined) {
      p = newPortal(id);
      this.portals.set(id, p);
    }
    return p;
  }

  /** An authorization code, as HubSpot appends to the redirect URL after a user installs the app. */
  authorizationCode(portalId: number, grant: { scopes?: readonly string[]; decline?: readonly string[] } = {}): string {
    this.portal(portalId);
    const decline = grant.decline ?? [];
    return this.oauth.code({ portalId, scopes: (grant.scopes ?? ALL_SCOPES).filter((s) => !decline.includes(s)) });
  }

  /** HubSpot's install screen for `installUrl`, approved (less `decline`d optional scopes): the redirect URL. */
  authorize(installUrl: string, opts: { portalId: number; decline?: readonly string[] }): string {
    this.portal(opts.portalId);
    return this.oauth.authorize(installUrl, opts.portalId, opts.decline);
  }

  /** Tokens for a portal without going through the install flow. */
  issueTokens(portalId: number, grant: { scopes?: readonly string[] } = {}): TokenAnswer {
    this.portal(portalId);
    return this.oauth.issue({ portalId, scopes: grant.scopes ?? ALL_SCOPES });
  }

  defineAction(definitionId: number, config: FakeActionDefinition): void {
    this.callbacks.define(definitionId, config);
  }

  issueCallback(portalId: number, callbackId: string, opts: { definitionId?: number } = {}): void {
    this.portal(portalId);
    this.callbacks.issue(portalId, callbackId, opts.definitionId ?? null);
  }

  expireCallback(callbackId: string): void {
    this.callbacks.expire(callbackId);
  }

  upsertObject(
    portalId: number,
    type: string,
    id: string | null,
    properties: Record<string, string | null>,
    contacts: string[] = [],
  ): FakeObject {
    const t = objectType(type);
    const store = t === undefined ? undefined : this.portal(portalId).objects[t];
    if (store === undefined) throw new Error(`unknown object type ${type}`);
    return writeObject(store, id ?? String(this.nextId++), properties, contacts, new Date(this.now()).toISOString());
  }

  /** Many contacts at once (benchmarks): ids from 1 upwards, phone and email set. */
  seedContacts(portalId: number, count: number): void {
    const store = this.portal(portalId).objects.contacts as Map<string, FakeObject>;
    const now = new Date(this.now()).toISOString();
    for (let i = 1; i <= count; i++) {
      const id = String(i);
      store.set(id, {
        id,
        properties: {
          hs_object_id: id,
          email: `contact${i}@example.com`,
          phone: `+2547${String(i).padStart(8, '0')}`,
          firstname: `Contact ${i}`,
          createdate: now,
          lastmodifieddate: now,
        },
        createdAt: now,
        updatedAt: now,
        archived: false,
        contacts: [],
      });
    }
    this.nextId = Math.max(this.nextId, count + 1);
  }

  uninstall(portalId: number): void {
    this.portal(portalId).uninstalled = true;
    this.oauth.revoke(portalId);
  }

  /** Requests that got a 429. */
  get throttled(): number {
    return this.log.filter((l) => l.status === 429).length;
  }

  // ------------------------------------------------------------------ sending, as HubSpot does

  sendWebhooks(targetUrl: string, events: Array<Record<string, unknown>>, opts: { secret?: string; timestamp?: number } = {}) {
    return sendWebhooks(opts.secret ?? this.clientSecret, targetUrl, events, opts.timestamp);
  }

  /** A custom workflow action execution (signed v2); its callback id becomes one HubSpot waits on. */
  sendCustomAction(targetUrl: string, payload: Record<string, unknown>, opts: { secret?: string } = {}): Promise<Response> {
    const origin = payload.origin as { portalId?: unknown; actionDefinitionId?: unknown } | undefined;
    if (typeof payload.callbackId === 'string' && typeof origin?.portalId === 'number')
      this.issueCallback(origin.portalId, payload.callbackId, {
        ...(typeof origin.actionDefinitionId === 'number' ? { definitionId: origin.actionDefinitionId } : {}),
      });
    return sendCustomAction(opts.secret ?? this.clientSecret, targetUrl, payload);
  }

  fetchFromCard(
    baseUrl: string,
    context: { portalId: number; userId: number; userEmail?: string; appId?: number },
    init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
  ): Promise<Response> {
    return fetchFromCard(this.clientSecret, baseUrl, context, init);
  }

  // ------------------------------------------------------------------ the API

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    let portalId: number | null = null;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.log.push({ method, path: url.pathname, portalId, status, at: this.now() });
      if (body === undefined) {
        res.writeHead(status, headers);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      if (/^\/oauth\/(v1|v3|2026-03)\/token$/.test(url.pathname) && method === 'POST') {
        send(200, this.oauth.token(new URLSearchParams(raw)));
        return;
      }
      // an export's file: a signed URL, no token, not an API call
      if (url.pathname.startsWith('/_files/') && method === 'GET') {
        const f = this.exports.download(url);
        this.log.push({ method, path: url.pathname, portalId, status: f.status, at: this.now() });
        res.writeHead(f.status, { 'content-type': f.type, 'content-length': String(Buffer.byteLength(f.body)) });
        res.end(f.body);
        return;
      }
      const grant = this.oauth.authenticate(req.headers.authorization);
      portalId = grant.portalId;
      const p = this.portal(portalId);
      const rate = this.rateHeaders(p, take(p.window, this.rateLimit, this.now()));
      const groupName = `publicapi:oauth:${this.clientId}:${portalId}`;
      if (rate.limited) return send(429, rateLimitBody('TEN_SECONDLY_ROLLING', groupName, randomUUID()), rate.headers);
      // search has its own per-second limit on top, and answers without the rate-limit headers
      if (/\/search$/.test(url.pathname) && take(p.searchWindow, this.searchRateLimit, this.now()))
        return send(429, rateLimitBody('SECONDLY', groupName, randomUUID()));
      const needed = scopesFor(method, url.pathname, objectType);
      if (needed !== null && !needed.some((s) => grant.scopes.includes(s))) throw missingScopes(needed);
      const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      const result = this.route(p, method, url, body);
      send(result.status, result.body, /\/search$/.test(url.pathname) ? {} : rate.headers);
    } catch (e) {
      if (e instanceof HsError) {
        send(e.status, { status: 'error', message: e.message, correlationId: randomUUID(), category: e.category, ...e.extra });
      } else if (e instanceof SyntaxError) {
        send(400, { status: 'error', message: 'Invalid input JSON on line 1', correlationId: randomUUID(), category: 'VALIDATION_ERROR' });
      } else {
        send(500, { status: 'error', message: (e as Error).message, correlationId: randomUUID(), category: 'INTERNAL_ERROR' });
      }
    }
  }

  private rateHeaders(p: FakePortal, limited: boolean): { limited: boolean; headers: Record<string, string> } {
    return {
      limited,
      headers: {
        'x-hubspot-ratelimit-interval-milliseconds': String(this.rateLimit.intervalMs),
        'x-hubspot-ratelimit-max': String(this.rateLimit.max),
        'x-hubspot-ratelimit-remaining': String(Math.max(0, this.rateLimit.max - p.window.length)),
      },
    };
  }

  private route(p: FakePortal, method: string, url: URL, body: Record<string, unknown>): { status: number; body: unknown } {
    const at = new Date(this.now()).toISOString();
    const objects = objectRoutes({ portal: p, at, nextId: () => String(this.nextId++) }, method, url, body);
    if (objects !== null) return objects;
    const props = propertyRoutes(p, method, url.pathname, body, at);
    if (props !== null) return props;
    if (url.pathname === '/crm/v3/exports/export/async' && method === 'POST') return this.exports.start(p, body);
    const task = /^\/crm\/v3\/exports\/export\/async\/tasks\/([^/]+)\/status$/.exec(url.pathname);
    if (task && method === 'GET') return this.exports.status(p, decodeURIComponent(task[1] as string), this.url);
    const m = /^\/automation\/v4\/actions\/callbacks\/([^/]+)\/complete$/.exec(url.pathname);
    if (m && method === 'POST') {
      const id = decodeURIComponent(m[1] as string);
      p.completedCallbacks.set(id, this.callbacks.complete(p.id, id, body));
      return { status: 204, body: undefined };
    }
    throw new HsError(404, 'OBJECT_NOT_FOUND', `no route ${method} ${url.pathname}`);
  }
}
