/**
 * A local HubSpot that speaks the real wire format for what Signalbox uses (tests drive the real
 * @hubspot/api-client against it through `basePath`): OAuth token exchange and refresh, contacts
 * (get, search with filters/sorts/`after` paging/200 per page/10,000-result cap, batch read and
 * upsert of 100), tickets/deals/invoices with contact associations, property groups and
 * properties, Communications with associations, custom-action callback completion, HubSpot's
 * error bodies, and its ten-second rolling rate limit (429 with `policyName` and the
 * X-HubSpot-RateLimit-* headers). It can also *send* what HubSpot sends: signed Webhooks API
 * batches (v1 + v3), custom workflow action calls (v2) and app-card fetches (v3).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signV1, signV2, signV3 } from '../signature.js';

export interface FakeObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** associated contact ids (tickets, deals, invoices, communications) */
  contacts: string[];
}

export interface FakePortal {
  id: number;
  objects: Record<string, Map<string, FakeObject>>;
  groups: Map<string, { name: string; label: string; displayOrder: number }>;
  properties: Map<string, Record<string, unknown>>;
  completedCallbacks: Map<string, Record<string, unknown>>;
  window: number[];
  uninstalled: boolean;
}

export interface FakeHubspotOptions {
  clientId?: string;
  clientSecret?: string;
  /** Requests per interval per portal before 429 (HubSpot's OAuth apps: 100 per 10 s). */
  rateLimit?: { max: number; intervalMs: number };
  /** Access token lifetime in seconds (HubSpot: 1800). */
  tokenTtlSeconds?: number;
  /** Clock for token expiry and rate windows (tests move it). */
  now?: () => number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  portalId: number | null;
  status: number;
  at: number;
}

const TYPE_ALIASES: Record<string, string> = {
  contact: 'contacts',
  contacts: 'contacts',
  '0-1': 'contacts',
  ticket: 'tickets',
  tickets: 'tickets',
  '0-5': 'tickets',
  deal: 'deals',
  deals: 'deals',
  '0-3': 'deals',
  invoice: 'invoices',
  invoices: 'invoices',
  communication: 'communications',
  communications: 'communications',
  note: 'notes',
  notes: 'notes',
};

class HsError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class FakeHubspot {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly portals = new Map<number, FakePortal>();
  readonly log: RequestLogEntry[] = [];
  private readonly codes = new Map<string, number>();
  private readonly accessTokens = new Map<string, { portalId: number; expiresAt: number }>();
  private readonly refreshTokens = new Map<string, number>();
  private server: Server | null = null;
  private nextId = 1000;
  url = '';
  rateLimit: { max: number; intervalMs: number };
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(o: FakeHubspotOptions = {}) {
    this.clientId = o.clientId ?? 'fake-client-id';
    this.clientSecret = o.clientSecret ?? 'fake-client-secret-0123456789';
    this.rateLimit = o.rateLimit ?? { max: 100, intervalMs: 10_000 };
    this.ttl = o.tokenTtlSeconds ?? 1800;
    this.now = o.now ?? Date.now;
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

  // ------------------------------------------------------------------ state helpers (tests)

  portal(id: number): FakePortal {
    let p = this.portals.get(id);
    if (p === undefined) {
      p = {
        id,
        objects: {
          contacts: new Map(),
          tickets: new Map(),
          deals: new Map(),
          invoices: new Map(),
          communications: new Map(),
          notes: new Map(),
        },
        groups: new Map(),
        properties: new Map(),
        completedCallbacks: new Map(),
        window: [],
        uninstalled: false,
      };
      this.portals.set(id, p);
    }
    return p;
  }

  /** An authorization code, as HubSpot appends to the redirect URL after a user installs the app. */
  authorizationCode(portalId: number): string {
    this.portal(portalId);
    const code = `code-${randomUUID()}`;
    this.codes.set(code, portalId);
    return code;
  }

  /** Tokens for a portal without going through the install flow. */
  issueTokens(portalId: number): { access_token: string; refresh_token: string; expires_in: number } {
    this.portal(portalId);
    const refresh = `rt-${randomUUID()}`;
    this.refreshTokens.set(refresh, portalId);
    return { ...this.newAccessToken(portalId), refresh_token: refresh };
  }

  private newAccessToken(portalId: number): { access_token: string; expires_in: number; token_type: string } {
    const token = `at-${portalId}-${randomUUID()}`;
    this.accessTokens.set(token, { portalId, expiresAt: this.now() + this.ttl * 1000 });
    return { access_token: token, expires_in: this.ttl, token_type: 'bearer' };
  }

  upsertObject(
    portalId: number,
    type: string,
    id: string | null,
    properties: Record<string, string | null>,
    contacts: string[] = [],
  ): FakeObject {
    const store = this.portal(portalId).objects[TYPE_ALIASES[type] ?? type];
    if (store === undefined) throw new Error(`unknown object type ${type}`);
    const now = new Date(this.now()).toISOString();
    const oid = id ?? String(this.nextId++);
    const existing = store.get(oid);
    const obj: FakeObject = existing
      ? {
          ...existing,
          properties: { ...existing.properties, ...properties, lastmodifieddate: now, hs_lastmodifieddate: now },
          updatedAt: now,
        }
      : {
          id: oid,
          properties: { ...properties, hs_object_id: oid, createdate: now, lastmodifieddate: now, hs_lastmodifieddate: now },
          createdAt: now,
          updatedAt: now,
          archived: false,
          contacts: [...contacts],
        };
    if (existing && contacts.length > 0) obj.contacts = [...new Set([...existing.contacts, ...contacts])];
    store.set(oid, obj);
    return obj;
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
    for (const [t, v] of this.accessTokens) if (v.portalId === portalId) this.accessTokens.delete(t);
    for (const [t, v] of this.refreshTokens) if (v === portalId) this.refreshTokens.delete(t);
  }

  /** Requests that got a 429. */
  get throttled(): number {
    return this.log.filter((l) => l.status === 429).length;
  }

  // ------------------------------------------------------------------ sending, as HubSpot does

  /** A Webhooks API delivery: JSON array, signed v1 (X-HubSpot-Signature) and v3. */
  sendWebhooks(
    targetUrl: string,
    events: Array<Record<string, unknown>>,
    opts: { secret?: string; timestamp?: number } = {},
  ): Promise<Response> {
    const body = JSON.stringify(events);
    const ts = opts.timestamp ?? Date.now();
    const secret = opts.secret ?? this.clientSecret;
    return fetch(targetUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-version': 'v1',
        'x-hubspot-signature': signV1(secret, body),
        'x-hubspot-signature-v3': signV3(secret, 'POST', targetUrl, body, ts),
        'x-hubspot-request-timestamp': String(ts),
        'x-hubspot-timeout-millis': '10000',
      },
      body,
    });
  }

  /** A custom workflow action execution: signed v2 (and v3, as newer platform versions add it). */
  sendCustomAction(targetUrl: string, payload: Record<string, unknown>, opts: { secret?: string } = {}): Promise<Response> {
    const body = JSON.stringify(payload);
    const secret = opts.secret ?? this.clientSecret;
    return fetch(targetUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-version': 'v2',
        'x-hubspot-signature': signV2(secret, 'POST', targetUrl, body),
      },
      body,
    });
  }

  /** An app card's `hubspot.fetch()`: HubSpot appends userId, portalId and more, and signs v3. */
  fetchFromCard(
    baseUrl: string,
    context: { portalId: number; userId: number; userEmail?: string; appId?: number },
    init: { method?: string; body?: unknown; query?: Record<string, string> } = {},
  ): Promise<Response> {
    const u = new URL(baseUrl);
    for (const [k, v] of Object.entries(init.query ?? {})) u.searchParams.set(k, v);
    u.searchParams.set('userId', String(context.userId));
    if (context.userEmail) u.searchParams.set('userEmail', context.userEmail);
    u.searchParams.set('appId', String(context.appId ?? 54321));
    u.searchParams.set('portalId', String(context.portalId));
    const url = u.toString();
    const method = init.method ?? 'GET';
    const body = init.body === undefined ? '' : JSON.stringify(init.body);
    const ts = Date.now();
    return fetch(url, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': signV3(this.clientSecret, method, url, body, ts),
        'x-hubspot-request-timestamp': String(ts),
      },
      ...(body === '' ? {} : { body }),
    });
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
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    try {
      if (url.pathname === '/oauth/v1/token' || url.pathname === '/oauth/v3/token' || url.pathname === '/oauth/2026-03/token') {
        send(200, this.token(new URLSearchParams(raw)));
        return;
      }
      portalId = this.authenticate(req.headers.authorization);
      const rate = this.takeRate(portalId);
      if (rate.limited) {
        send(
          429,
          {
            status: 'error',
            message: 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            correlationId: randomUUID(),
            policyName: 'TEN_SECONDLY_ROLLING',
            groupName: `publicapi:oauth:${this.clientId}:${portalId}`,
          },
          rate.headers,
        );
        return;
      }
      const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
      const result = this.route(portalId, method, url, body);
      send(result.status, result.body, rate.headers);
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

  private token(form: URLSearchParams): Record<string, unknown> {
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      throw new HsError(400, 'BAD_CLIENT_ID', 'missing or unknown client id', { error: 'invalid_client' });
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') {
      const portalId = this.codes.get(form.get('code') ?? '');
      if (portalId === undefined)
        throw new HsError(400, 'BAD_AUTH_CODE', 'auth code not found', { error: 'invalid_grant', status: 'BAD_AUTH_CODE' });
      this.codes.delete(form.get('code') ?? '');
      const refresh = `rt-${randomUUID()}`;
      this.refreshTokens.set(refresh, portalId);
      return { ...this.newAccessToken(portalId), refresh_token: refresh, hub_id: portalId };
    }
    if (grant === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const portalId = this.refreshTokens.get(token);
      if (portalId === undefined)
        throw new HsError(400, 'BAD_REFRESH_TOKEN', 'missing or unknown refresh token', {
          error: 'invalid_grant',
          status: 'BAD_REFRESH_TOKEN',
        });
      return { ...this.newAccessToken(portalId), refresh_token: token, hub_id: portalId };
    }
    throw new HsError(400, 'BAD_GRANT_TYPE', `unsupported grant_type ${grant}`, { error: 'unsupported_grant_type' });
  }

  private authenticate(header: string | undefined): number {
    const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
    const t = token === undefined ? undefined : this.accessTokens.get(token);
    if (t === undefined)
      throw new HsError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.');
    if (t.expiresAt <= this.now())
      throw new HsError(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired 1 second(s) ago.');
    return t.portalId;
  }

  private takeRate(portalId: number): { limited: boolean; headers: Record<string, string> } {
    const p = this.portal(portalId);
    const now = this.now();
    while (p.window.length > 0 && (p.window[0] as number) <= now - this.rateLimit.intervalMs) p.window.shift();
    const limited = p.window.length >= this.rateLimit.max;
    if (!limited) p.window.push(now);
    return {
      limited,
      headers: {
        'x-hubspot-ratelimit-interval-milliseconds': String(this.rateLimit.intervalMs),
        'x-hubspot-ratelimit-max': String(this.rateLimit.max),
        'x-hubspot-ratelimit-remaining': String(Math.max(0, this.rateLimit.max - p.window.length)),
      },
    };
  }

  private store(portalId: number, type: string): Map<string, FakeObject> {
    const s = this.portal(portalId).objects[TYPE_ALIASES[type] ?? ''];
    if (s === undefined) throw new HsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${type}`);
    return s;
  }

  private view(o: FakeObject, properties: string[] | null, associations: string[] = [], type = 'object'): Record<string, unknown> {
    const props: Record<string, string | null> = {};
    const wanted = properties ?? ['createdate', 'hs_object_id', 'lastmodifieddate', 'email', 'firstname', 'lastname'];
    for (const k of wanted) if (k in o.properties) props[k] = o.properties[k] ?? null;
    for (const k of ['createdate', 'hs_object_id', 'lastmodifieddate']) if (k in o.properties) props[k] = o.properties[k] ?? null;
    const out: Record<string, unknown> = {
      id: o.id,
      properties: props,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
      archived: o.archived,
    };
    if (associations.includes('contacts') && o.contacts.length > 0) {
      out.associations = {
        contacts: { results: o.contacts.map((id) => ({ id, type: `${type.replace(/s$/, '')}_to_contact` })) },
      };
    }
    return out;
  }

  private route(portalId: number, method: string, url: URL, body: Record<string, unknown>): { status: number; body: unknown } {
    const path = url.pathname;
    const list = (k: string) =>
      url.searchParams
        .getAll(k)
        .flatMap((v) => v.split(','))
        .filter((v) => v !== '');
    let m: RegExpExecArray | null;

    m = /^\/crm\/v3\/objects\/([\w-]+)\/search$/.exec(path);
    if (m && method === 'POST') return { status: 200, body: this.search(portalId, m[1] as string, body) };
    m = /^\/crm\/v3\/objects\/([\w-]+)\/batch\/read$/.exec(path);
    if (m && method === 'POST') {
      const inputs = (body.inputs as Array<{ id: string }> | undefined) ?? [];
      if (inputs.length > 100) throw new HsError(400, 'VALIDATION_ERROR', 'Batch input size exceeds the maximum of 100');
      const store = this.store(portalId, m[1] as string);
      const idProperty = body.idProperty as string | undefined;
      const props = (body.properties as string[] | undefined) ?? null;
      const results = inputs
        .map((i) => (idProperty ? [...store.values()].find((o) => o.properties[idProperty] === i.id) : store.get(String(i.id))))
        .filter((o): o is FakeObject => o !== undefined && !o.archived)
        .map((o) => this.view(o, props));
      const now = new Date(this.now()).toISOString();
      return { status: 200, body: { status: 'COMPLETE', results, startedAt: now, completedAt: now } };
    }
    m = /^\/crm\/v3\/objects\/([\w-]+)\/batch\/upsert$/.exec(path);
    if (m && method === 'POST') {
      const inputs = (body.inputs as Array<{ id: string; idProperty?: string; properties: Record<string, string> }> | undefined) ?? [];
      if (inputs.length > 100) throw new HsError(400, 'VALIDATION_ERROR', 'Batch input size exceeds the maximum of 100');
      const type = m[1] as string;
      const store = this.store(portalId, type);
      const results = inputs.map((i) => {
        const prop = i.idProperty ?? 'hs_object_id';
        const found = [...store.values()].find((o) => o.properties[prop] === i.id);
        const o = this.upsertObject(portalId, type, found?.id ?? null, { ...i.properties, [prop]: i.id });
        return { ...this.view(o, Object.keys(i.properties)), new: found === undefined };
      });
      const now = new Date(this.now()).toISOString();
      return { status: 200, body: { status: 'COMPLETE', results, startedAt: now, completedAt: now } };
    }
    m = /^\/crm\/v3\/objects\/([\w-]+)$/.exec(path);
    if (m && method === 'GET') {
      // list page: up to 100, ordered by id, `after` is the last id seen
      const limit = Number(url.searchParams.get('limit') ?? 10);
      if (limit > 100) throw new HsError(400, 'VALIDATION_ERROR', 'limit must be at most 100');
      const after = Number(url.searchParams.get('after') ?? 0);
      const rows = [...this.store(portalId, m[1] as string).values()]
        .filter((o) => !o.archived && Number(o.id) > after)
        .sort((a, b) => Number(a.id) - Number(b.id));
      const page = rows.slice(0, limit);
      const props = list('properties').length ? list('properties') : null;
      const last = page.at(-1);
      return {
        status: 200,
        body: {
          results: page.map((o) => this.view(o, props)),
          ...(rows.length > limit && last ? { paging: { next: { after: last.id } } } : {}),
        },
      };
    }
    m = /^\/crm\/v3\/objects\/([\w-]+)$/.exec(path);
    if (m && method === 'POST') {
      const type = m[1] as string;
      const props = (body.properties as Record<string, string> | undefined) ?? {};
      const assoc = (body.associations as Array<{ to: { id: string }; types: Array<{ associationTypeId: number }> }> | undefined) ?? [];
      const contactIds: string[] = [];
      for (const a of assoc) {
        const ids = a.types.map((t) => t.associationTypeId);
        // communication→contact 81; the contact must exist
        if (!ids.some((t) => t === 81 || t === 1 || t === 202 || t === 16)) continue;
        if (!this.store(portalId, 'contacts').has(String(a.to.id)))
          throw new HsError(400, 'VALIDATION_ERROR', `One or more associations are invalid: contact ${a.to.id} does not exist`);
        contactIds.push(String(a.to.id));
      }
      if (TYPE_ALIASES[type] === 'communications') {
        const channel = props.hs_communication_channel_type;
        if (!['SMS', 'WHATS_APP', 'LINKEDIN_MESSAGE'].includes(channel ?? ''))
          throw new HsError(400, 'VALIDATION_ERROR', `Property values were not valid: hs_communication_channel_type=${channel}`);
        if (props.hs_communication_logged_from !== 'CRM')
          throw new HsError(400, 'VALIDATION_ERROR', 'Property values were not valid: hs_communication_logged_from must be CRM');
      }
      const o = this.upsertObject(portalId, type, null, props, contactIds);
      return { status: 201, body: this.view(o, Object.keys(props)) };
    }
    m = /^\/crm\/v3\/objects\/([\w-]+)\/([^/]+)$/.exec(path);
    if (m) {
      const store = this.store(portalId, m[1] as string);
      const idProperty = url.searchParams.get('idProperty');
      const key = decodeURIComponent(m[2] as string);
      const o = idProperty ? [...store.values()].find((x) => x.properties[idProperty] === key) : store.get(key);
      if (o === undefined || o.archived) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      if (method === 'GET')
        return {
          status: 200,
          body: this.view(o, list('properties').length ? list('properties') : null, list('associations'), TYPE_ALIASES[m[1] as string]),
        };
      if (method === 'PATCH') {
        const props = (body.properties as Record<string, string> | undefined) ?? {};
        const known = this.portal(portalId).properties;
        for (const k of Object.keys(props))
          if (k.startsWith('signalbox_') && !known.has(k))
            throw new HsError(400, 'VALIDATION_ERROR', `Property values were not valid: Property "${k}" does not exist`, {
              errors: [{ message: `Property "${k}" does not exist`, code: 'PROPERTY_DOESNT_EXIST', context: { propertyName: [k] } }],
            });
        const u = this.upsertObject(portalId, m[1] as string, o.id, props);
        return { status: 200, body: this.view(u, Object.keys(props)) };
      }
    }
    m = /^\/crm\/v3\/properties\/([\w-]+)\/groups$/.exec(path);
    if (m && method === 'POST') {
      const p = this.portal(portalId);
      const name = String(body.name);
      if (p.groups.has(name)) throw new HsError(409, 'OBJECT_ALREADY_EXISTS', `A property group named '${name}' already exists.`);
      const g = { name, label: String(body.label ?? name), displayOrder: Number(body.displayOrder ?? -1) };
      p.groups.set(name, g);
      return { status: 201, body: { ...g, archived: false } };
    }
    m = /^\/crm\/v3\/properties\/([\w-]+)\/groups\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      const g = this.portal(portalId).groups.get(m[2] as string);
      if (g === undefined) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      return { status: 200, body: { ...g, archived: false } };
    }
    m = /^\/crm\/v3\/properties\/([\w-]+)$/.exec(path);
    if (m && method === 'POST') {
      const p = this.portal(portalId);
      const name = String(body.name);
      if (p.properties.has(name)) throw new HsError(409, 'OBJECT_ALREADY_EXISTS', `A property named '${name}' already exists.`);
      if (body.groupName !== undefined && !p.groups.has(String(body.groupName)))
        throw new HsError(400, 'VALIDATION_ERROR', `group ${String(body.groupName)} does not exist`);
      const now = new Date(this.now()).toISOString();
      const prop = {
        ...body,
        createdAt: now,
        updatedAt: now,
        archived: false,
        hidden: false,
        calculated: false,
        hasUniqueValue: false,
        options: body.options ?? [],
      };
      p.properties.set(name, prop);
      return { status: 201, body: prop };
    }
    m = /^\/crm\/v3\/properties\/([\w-]+)\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      const prop = this.portal(portalId).properties.get(m[2] as string);
      if (prop === undefined) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      return { status: 200, body: prop };
    }
    m = /^\/automation\/v4\/actions\/callbacks\/([^/]+)\/complete$/.exec(path);
    if (m && method === 'POST') {
      const id = decodeURIComponent(m[1] as string);
      this.portal(portalId).completedCallbacks.set(id, (body.outputFields as Record<string, unknown>) ?? {});
      return { status: 204, body: undefined };
    }
    throw new HsError(404, 'OBJECT_NOT_FOUND', `no route ${method} ${path}`);
  }

  private search(portalId: number, type: string, body: Record<string, unknown>): Record<string, unknown> {
    const limit = Number(body.limit ?? 10);
    if (limit > 200) throw new HsError(400, 'VALIDATION_ERROR', 'limit must be at most 200');
    const after = Number(body.after ?? 0);
    if (after + limit > 10_000)
      throw new HsError(400, 'VALIDATION_ERROR', 'The search endpoints return at most 10,000 results: page past it with a filter instead.');
    const groups =
      (body.filterGroups as Array<{ filters: Array<{ propertyName: string; operator: string; value?: string }> }> | undefined) ?? [];
    const nFilters = groups.reduce((n, g) => n + g.filters.length, 0);
    if (groups.length > 5 || nFilters > 25 || groups.some((g) => g.filters.length > 10))
      throw new HsError(400, 'VALIDATION_ERROR', 'Too many filters: at most 5 groups, 10 filters per group, 25 in total');
    const sorts = (body.sorts as Array<{ propertyName: string; direction?: string } | string> | undefined) ?? [];
    if (sorts.length > 1) throw new HsError(400, 'VALIDATION_ERROR', 'only one sort is supported');
    const value = (o: FakeObject, prop: string) => (prop === 'hs_object_id' ? o.id : (o.properties[prop] ?? null));
    const cmp = (a: string | null, b: string, numeric: boolean) => {
      if (a === null) return Number.NaN;
      if (numeric) return Number(a) - Number(b);
      const ta = Date.parse(a);
      const tb = /^\d+$/.test(b) ? Number(b) : Date.parse(b);
      if (Number.isFinite(ta) && Number.isFinite(tb)) return ta - tb;
      return a < b ? -1 : a > b ? 1 : 0;
    };
    const test = (o: FakeObject, f: { propertyName: string; operator: string; value?: string }) => {
      const v = value(o, f.propertyName);
      const numeric = f.propertyName === 'hs_object_id';
      switch (f.operator) {
        case 'EQ':
          return v !== null && String(v).toLowerCase() === String(f.value).toLowerCase();
        case 'NEQ':
          return v === null || String(v).toLowerCase() !== String(f.value).toLowerCase();
        case 'GT':
          return cmp(v, String(f.value), numeric) > 0;
        case 'GTE':
          return cmp(v, String(f.value), numeric) >= 0;
        case 'LT':
          return cmp(v, String(f.value), numeric) < 0;
        case 'LTE':
          return cmp(v, String(f.value), numeric) <= 0;
        case 'HAS_PROPERTY':
          return v !== null && v !== '';
        case 'NOT_HAS_PROPERTY':
          return v === null || v === '';
        default:
          throw new HsError(400, 'VALIDATION_ERROR', `unknown operator ${f.operator}`);
      }
    };
    let rows = [...this.store(portalId, type).values()].filter(
      (o) => !o.archived && (groups.length === 0 || groups.some((g) => g.filters.every((f) => test(o, f)))),
    );
    const sort = sorts[0];
    const sortProp = typeof sort === 'string' ? sort.replace(/^-/, '') : (sort?.propertyName ?? 'hs_object_id');
    const desc = typeof sort === 'string' ? sort.startsWith('-') : sort?.direction === 'DESCENDING';
    rows.sort((a, b) => {
      const d = sortProp === 'hs_object_id' ? Number(a.id) - Number(b.id) : cmp(value(a, sortProp), String(value(b, sortProp)), false);
      return (desc ? -d : d) || Number(a.id) - Number(b.id);
    });
    const total = rows.length;
    rows = rows.slice(after, after + limit);
    const props = (body.properties as string[] | undefined) ?? null;
    const next = after + limit < Math.min(total, 10_000) ? { next: { after: String(after + limit) } } : undefined;
    return { total, results: rows.map((o) => this.view(o, props)), ...(next ? { paging: next } : {}) };
  }
}
