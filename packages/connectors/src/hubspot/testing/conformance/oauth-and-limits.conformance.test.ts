/**
 * The fake HubSpot held to HubSpot's answers (operations.ts, shapes.ts): OAuth (v1, v3 and
 * 2026-03 token answers, scopes granted and declined), authentication, the rolling limit, and the
 * operations' own scopes and formats. Each `it` is one check of specs/CONFORMANCE.md: the call
 * goes through the real SDK (our gateway and HubspotCrm where Signalbox makes it) and a recording
 * proxy, and the answer must be one HubSpot could give.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCOPES } from '../../gateway.js';
import { advance, body, conforms, fake, form, installed, PORTAL, proxy, REDIRECT, raw, shapes, useHarness } from './harness.js';

useHarness();

describe('OAuth', () => {
  it('v1 token (authorization_code): the token carries scopes, hub_id and token_use', async () => {
    await raw('POST', '/oauth/v1/token', {
      form: form({ grant_type: 'authorization_code', code: fake.authorizationCode(PORTAL), redirect_uri: REDIRECT }),
    });
    const ex = proxy.last('POST', '/oauth/v1/token');
    conforms(ex, 'oauth-v1');
    expect(body(ex)).toMatchObject({ hub_id: PORTAL, token_use: 'access_token', token_type: 'bearer', expires_in: 1800 });
    expect(body(ex).scopes).toEqual(expect.arrayContaining([...DEFAULT_SCOPES, 'crm.objects.invoices.read']));
  });

  it('v3 token (authorization_code, our gateway install)', async () => {
    await installed();
    conforms(proxy.last('POST', '/oauth/v3/token'), 'oauth-v3');
  });

  it('v3 token (refresh_token, our gateway refreshing ahead of expiry)', async () => {
    const { crm } = await installed();
    advance(26 * 60_000);
    await crm.getContact(PORTAL, '901');
    const ex = proxy.last('POST', '/oauth/v3/token');
    expect(new URLSearchParams(ex.requestBody).get('grant_type')).toBe('refresh_token');
    conforms(ex, 'oauth-v3');
    expect(body(ex)).toMatchObject({ hub_id: PORTAL, token_use: 'access_token' });
  });

  it('2026-03 token (refresh_token)', async () => {
    const { refreshToken } = await installed();
    await raw('POST', '/oauth/2026-03/token', { form: form({ grant_type: 'refresh_token', refresh_token: refreshToken }) });
    conforms(proxy.last('POST', '/oauth/2026-03/token'), 'oauth-2026-03');
  });

  it('v3 token with a refresh token HubSpot does not know: 400 invalid_grant', async () => {
    await raw('POST', '/oauth/v3/token', { form: form({ grant_type: 'refresh_token', refresh_token: 'rt-unknown' }) });
    const ex = proxy.last('POST', '/oauth/v3/token');
    expect(ex.status).toBe(400);
    conforms(ex, 'oauth-v3');
    expect(body(ex)).toMatchObject({ error: 'invalid_grant', status: 'BAD_REFRESH_TOKEN' });
  });

  it('v1 token with a wrong client secret: 400 invalid_client', async () => {
    await raw('POST', '/oauth/v1/token', {
      form: { ...form({ grant_type: 'authorization_code', code: fake.authorizationCode(PORTAL) }), client_secret: 'wrong' },
    });
    const ex = proxy.last('POST', '/oauth/v1/token');
    expect(ex.status).toBe(400);
    conforms(ex, 'oauth-v1');
  });

  it('an install that declines an optional scope: the token lists only what was granted', async () => {
    await installed({ decline: ['crm.objects.invoices.read'] });
    const ex = proxy.last('POST', '/oauth/v3/token');
    conforms(ex, 'oauth-v3');
    expect(body(ex).scopes).toEqual(expect.arrayContaining([...DEFAULT_SCOPES]));
    expect(body(ex).scopes).not.toContain('crm.objects.invoices.read');
  });
});

describe('authentication and limits', () => {
  it('no token: 401', async () => {
    await raw('GET', '/crm/v3/objects/contacts/901');
    const ex = proxy.last('GET', '/crm/v3/objects/contacts/901');
    expect(ex.status).toBe(401);
    conforms(ex, 'contacts-v3');
  });

  it('an expired token: 401 EXPIRED_AUTHENTICATION', async () => {
    const { token } = await installed();
    advance(31 * 60_000);
    await raw('GET', '/crm/v3/objects/contacts/901', { token });
    const ex = proxy.last('GET', '/crm/v3/objects/contacts/901');
    expect(ex.status).toBe(401);
    conforms(ex, 'contacts-v3');
    expect(body(ex).category).toBe('EXPIRED_AUTHENTICATION');
  });

  it('past the ten-second rolling limit: 429 TEN_SECONDLY_ROLLING with the X-HubSpot-RateLimit-* headers', async () => {
    const { token } = await installed();
    fake.rateLimit = { max: 3, intervalMs: 10_000 };
    for (let i = 0; i < 4; i++) await raw('GET', '/crm/v3/objects/contacts/901', { token });
    const ex = proxy.last('GET', '/crm/v3/objects/contacts/901');
    expect(ex.status).toBe(429);
    conforms(ex, 'contacts-v3');
    expect(body(ex).policyName).toBe('TEN_SECONDLY_ROLLING');
    expect(ex.headers).toMatchObject({
      'x-hubspot-ratelimit-max': '3',
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-remaining': '0',
    });
  });
});

describe('the shapes themselves', () => {
  it("every route's scope, as the fake's 403 names it, is one HubSpot allows for the route", async () => {
    fake.upsertObject(PORTAL, 'tickets', '555', {}, ['901']);
    fake.upsertObject(PORTAL, 'deals', '610', {}, ['901']);
    fake.upsertObject(PORTAL, 'invoices', '777', {}, ['901']);
    fake.issueCallback(PORTAL, 'cb-9');
    const { token } = await installed({ scopes: ['oauth'] });
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/crm/v3/objects/contacts/901'],
      ['GET', '/crm/v3/objects/contacts'],
      ['PATCH', '/crm/v3/objects/contacts/901', { properties: { firstname: 'A' } }],
      ['POST', '/crm/v3/objects/contacts/search', {}],
      ['POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '901' }], properties: [] }],
      ['POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [] }],
      ['GET', '/crm/v3/objects/tickets/555'],
      ['GET', '/crm/v3/objects/deals/610'],
      ['GET', '/crm/v3/objects/invoices/777'],
      ['POST', '/crm/v3/objects/communications', { properties: {} }],
      ['POST', '/crm/v3/objects/notes', { properties: {} }],
      ['POST', '/crm/v3/properties/contacts/groups', { name: 'g', label: 'G' }],
      ['GET', '/crm/v3/properties/contacts/groups/g'],
      ['POST', '/crm/v3/properties/contacts', { name: 'p', label: 'P', type: 'string', fieldType: 'text', groupName: 'g' }],
      ['GET', '/crm/v3/properties/contacts/email'],
      ['POST', '/automation/v4/actions/callbacks/cb-9/complete', { outputFields: {} }],
      ['POST', '/crm/v3/exports/export/async', {}],
      ['GET', '/crm/v3/exports/export/async/tasks/7000001/status'],
    ];
    const wrong: string[] = [];
    for (const [method, path, json] of routes) {
      const res = await raw(method, path, { token, ...(json === undefined ? {} : { json }) });
      const b = (await res.json()) as { errors?: Array<{ context?: { requiredGranularScopes?: string[] } }> };
      const named = b.errors?.[0]?.context?.requiredGranularScopes ?? [];
      const allowed = shapes.operation(method, path)?.scopes ?? [];
      if (res.status !== 403 || named.length === 0 || !named.every((s) => allowed.includes(s)))
        wrong.push(`${method} ${path}: ${res.status} names [${named.join(', ')}]`);
    }
    expect(wrong).toEqual([]);
  });

  it("every format the shapes use is one the validator checks; the operations come from 12 of HubSpot's specs", () => {
    expect([...shapes.formatsUsed].sort()).toEqual(['date-time', 'uuid']);
    expect(shapes.specs).toHaveLength(12);
  });
});
