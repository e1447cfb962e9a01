/** Real jsforce 3.10.16 against the local fake Salesforce: OAuth flows, refresh, pacing, limits. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrgDisabledError, SalesforceLimitError } from './errors.js';
import { type SalesforceAppConfig, SalesforceGateway } from './gateway.js';
import { FakeSalesforce } from './testing/fake-salesforce.js';
import { MemoryTokenStore } from './testing/memory-token-store.js';

let fake: FakeSalesforce;
let orgId: string;
const redirectUri = 'https://signalbox.example.com/salesforce/oauth/callback';
beforeEach(async () => {
  delete process.env.HTTP_PROXY;
  delete process.env.HTTPS_PROXY;
  fake = new FakeSalesforce();
  await fake.start();
  orgId = fake.org().id;
  fake.seedContacts(orgId, 30);
});
afterEach(() => fake.stop());

const app = (extra: Partial<SalesforceAppConfig> = {}): SalesforceAppConfig => ({
  clientId: fake.clientId,
  clientSecret: fake.clientSecret,
  redirectUri,
  loginUrl: fake.url,
  ...extra,
});
const count = (g: SalesforceGateway) => g.call(orgId, async (c) => (await c.query<{ Id: string }>('SELECT Id FROM Contact')).totalSize);

describe('Salesforce gateway through real jsforce', () => {
  it('connects with the web server flow, sends our client id on every call, and refreshes once for ten concurrent 401s', async () => {
    const tokens = new MemoryTokenStore();
    const gw = new SalesforceGateway(app(), tokens);
    const url = new URL(gw.authorizeUrl('signed-state'));
    expect(url.pathname).toBe('/services/oauth2/authorize');
    expect(url.searchParams.get('state')).toBe('signed-state');
    expect(url.searchParams.get('scope')).toBe('api refresh_token');
    // the admin approves in Salesforce, which redirects back with the code and our state
    const approved = await fetch(url, { redirect: 'manual' });
    const back = new URL(approved.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(redirectUri);
    expect(back.searchParams.get('state')).toBe('signed-state');
    const t = await gw.connectWithCode(back.searchParams.get('code') ?? '');
    expect(t.orgId).toBe(orgId);
    expect(t.orgId).toHaveLength(18);
    expect(t.grant.kind).toBe('refresh_token');
    expect(await count(gw)).toBe(30);
    expect(fake.log.filter((l) => l.path.startsWith('/services/data')).every((l) => l.callOptions === 'client=signalbox')).toBe(true);
    expect(fake.log.some((l) => l.path.startsWith('/services/data/v60.0/'))).toBe(true);

    fake.oauth.expireSessions(orgId); // the session timed out: every call now answers 401 INVALID_SESSION_ID
    const before = fake.log.filter((l) => l.path === '/services/oauth2/token').length;
    const results = await Promise.all(Array.from({ length: 10 }, () => count(gw)));
    expect(results).toEqual(Array(10).fill(30));
    expect(fake.log.filter((l) => l.path === '/services/oauth2/token').length - before).toBe(1);
    expect(gw.refreshes).toBe(1);
    expect(tokens.map.get(orgId)?.accessToken).not.toBe(t.accessToken);
  });

  it('disables an org whose refresh token Salesforce no longer accepts, without retrying it', async () => {
    const tokens = new MemoryTokenStore();
    const gw = new SalesforceGateway(app(), tokens);
    await gw.connectWithCode(fake.authorizationCode(orgId, redirectUri));
    fake.oauth.revokeRefreshTokens(orgId);
    await expect(count(gw)).rejects.toBeInstanceOf(OrgDisabledError);
    expect(tokens.disabled).toEqual([`${orgId}: Salesforce refused the grant (expired access/refresh token)`]);
    const calls = fake.log.length;
    await expect(count(gw)).rejects.toMatchObject({ code: 'SALESFORCE_REAUTHORIZATION_REQUIRED' });
    expect(fake.log.length).toBe(calls);
  });

  it('connects server-to-server with the JWT bearer flow and refreshes by minting a new assertion', async () => {
    const privateKeyPem = fake.jwtKeyPair();
    fake.jwtUser(orgId, 'integration@acme.example');
    const tokens = new MemoryTokenStore();
    const gw = new SalesforceGateway(app({ jwt: { privateKeyPem } }), tokens);
    const t = await gw.connectWithJwt('integration@acme.example');
    expect(t.grant).toEqual({ kind: 'jwt', username: 'integration@acme.example' });
    expect(await count(gw)).toBe(30);
    fake.oauth.expireSessions(orgId);
    expect(await count(gw)).toBe(30);
    expect(gw.refreshes).toBe(1);
    await expect(gw.connectWithJwt('stranger@acme.example')).rejects.toMatchObject({ name: 'invalid_grant' });
    // a key Salesforce does not know signs assertions it refuses
    const other = new SalesforceGateway(app({ jwt: { privateKeyPem: new FakeSalesforce().jwtKeyPair() } }), new MemoryTokenStore());
    await expect(other.connectWithJwt('integration@acme.example')).rejects.toMatchObject({ name: 'invalid_grant' });
  });

  it('slows down past 80 % of the daily allocation, from Sforce-Limit-Info', async () => {
    const tokens = new MemoryTokenStore();
    const gw = new SalesforceGateway(app(), tokens, { pace: { windowMs: 1500 } });
    await gw.connectWithCode(fake.authorizationCode(orgId, redirectUri));
    fake.org(orgId).apiUsage = { used: 70, limit: 100 };
    await count(gw);
    expect(gw.limits(orgId)).toMatchObject({ apiUsage: { used: 71, limit: 100 }, pacing: 'normal', minTimeMs: 0 });
    fake.org(orgId).apiUsage = { used: 85, limit: 100 };
    await count(gw); // sees 86/100: 14 requests left for the (shortened) window
    expect(gw.limits(orgId)).toMatchObject({ pacing: 'slowed', minTimeMs: Math.ceil(1500 / 14) });
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => count(gw)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 100);
  });

  it('pauses on REQUEST_LIMIT_EXCEEDED with a doubling back-off, then gives up with a coded error', async () => {
    const tokens = new MemoryTokenStore();
    const gw = new SalesforceGateway(app(), tokens, { pace: { backoff: { initialMs: 60, maxMs: 1000, maxRetries: 3 } } });
    await gw.connectWithCode(fake.authorizationCode(orgId, redirectUri));
    fake.failNext(
      { path: /\/query$/ },
      { status: 403, errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'ConcurrentPerOrgLongTxn Limit exceeded.' },
      2,
    );
    const started = Date.now();
    expect(await count(gw)).toBe(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60 + 120 - 5);
    expect(gw.limits(orgId).requestLimitExceeded).toBe(2);
    // the daily allocation is gone: the fake refuses every call
    fake.org(orgId).apiUsage = { used: 100, limit: 100 };
    await expect(count(gw)).rejects.toBeInstanceOf(SalesforceLimitError);
    expect(gw.limits(orgId).pacing).toBe('paused');
    expect(fake.log.filter((l) => l.status === 403).length).toBe(2 + 4);
  });
});
