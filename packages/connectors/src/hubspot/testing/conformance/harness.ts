/**
 * What every conformance test shares: a fresh fake HubSpot per test (two contacts, a test clock),
 * a recording proxy between the SDK and the fake, the shapes of HubSpot's answers
 * (operations.ts, shapes.ts), and Signalbox installed through our gateway. `fake` is a live
 * binding: it is the current test's fake.
 */
import { Client } from '@hubspot/api-client';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { HubspotCrm } from '../../crm.js';
import { DEFAULT_SCOPES, HubspotGateway, type PortalTokens, type TokenStore } from '../../gateway.js';
import { FakeHubspot } from '../fake-hubspot.js';
import { type Exchange, RecordingProxy } from '../recording-proxy.js';
import { ResponseShapes, type SpecName } from './response-shapes.js';

export const PORTAL = 62515;
export const T0 = Date.parse('2026-11-23T09:00:00Z');
export const REDIRECT = 'https://signalbox.example.com/hubspot/oauth/callback';
export const shapes = new ResponseShapes();

let now = T0;
export const clock = () => now;
/** Moves the clock the fake and the gateway read. */
export const advance = (ms: number) => {
  now += ms;
};
export let fake: FakeHubspot;
export const proxy = new RecordingProxy(() => fake.url);

/** Registers the per-file and per-test lifecycle; call once at the top of a test file. */
export function useHarness(): void {
  beforeAll(() => proxy.start());
  afterAll(() => proxy.stop());
  beforeEach(async () => {
    now = T0;
    fake = new FakeHubspot({ now: clock });
    await fake.start();
    proxy.exchanges.length = 0;
    fake.upsertObject(PORTAL, 'contacts', '901', { email: 'amina@example.com', phone: '+254711000901', firstname: 'Amina' });
    fake.upsertObject(PORTAL, 'contacts', '902', { email: 'otieno@example.com', mobilephone: '+254711000902' });
  });
  afterEach(() => fake.stop());
}

class MemoryTokens implements TokenStore {
  readonly map = new Map<number, PortalTokens>();
  async get(id: number) {
    return this.map.get(id) ?? null;
  }
  async save(t: PortalTokens) {
    this.map.set(t.portalId, t);
  }
  async disable(id: number) {
    this.map.delete(id);
  }
}

/** The answer is one HubSpot could give: the operation (described in HubSpot's `spec`) answers with its status and shape. */
export function conforms(ex: Exchange, spec: SpecName): void {
  const r = shapes.check({ method: ex.method, path: ex.path, status: ex.status, contentType: ex.contentType, body: ex.body });
  expect(r.problems, `${ex.method} ${ex.path} → ${ex.status} ${ex.body.slice(0, 400)}`).toEqual([]);
  expect(r.operation?.spec).toBe(spec);
}

export const body = (ex: Exchange) => JSON.parse(ex.body) as Record<string, unknown> & { errors?: Array<Record<string, unknown>> };

/** The SDK throws on any non-2xx; the proxy has the answer. */
export const settle = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    () => undefined,
  );

/** Signalbox installed in the portal: HubSpot's code exchanged on /oauth/v3/token through our gateway. */
export async function installed(grant: { scopes?: string[]; decline?: string[] } = {}) {
  const tokens = new MemoryTokens();
  const gateway = new HubspotGateway(
    { clientId: fake.clientId, clientSecret: fake.clientSecret, redirectUri: REDIRECT, scopes: DEFAULT_SCOPES, basePath: proxy.url },
    tokens,
    { now: clock },
  );
  const t = await gateway.install(fake.authorizationCode(PORTAL, grant));
  const client = new Client({ accessToken: t.accessToken, basePath: proxy.url, numberOfApiCallRetries: 0 });
  return { gateway, tokens, crm: new HubspotCrm(gateway), client, token: t.accessToken, refreshToken: t.refreshToken };
}

/** Raw HTTP through the proxy, for what the SDK does not reach. */
export function raw(method: string, path: string, opts: { token?: string; json?: unknown; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let payload: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(opts.form).toString();
  }
  return fetch(`${proxy.url}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
}

/** The app's credentials plus `extra`, form-encoded for a token request. */
export const form = (extra: Record<string, string>) => ({ client_id: fake.clientId, client_secret: fake.clientSecret, ...extra });
