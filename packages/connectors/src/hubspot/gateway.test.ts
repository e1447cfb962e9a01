/** The real @hubspot/api-client against the local fake HubSpot: OAuth, reads, writes, limits. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubspotCrm } from './crm.js';
import { DEFAULT_OPTIONAL_SCOPES, DEFAULT_SCOPES, HubspotApiError, HubspotGateway, type PortalTokens, type TokenStore } from './gateway.js';
import { FakeHubspot } from './testing/fake-hubspot.js';

class MemoryTokens implements TokenStore {
  readonly map = new Map<number, PortalTokens>();
  readonly disabled: string[] = [];
  saves = 0;
  async get(id: number) {
    return this.map.get(id) ?? null;
  }
  async save(t: PortalTokens) {
    this.saves++;
    this.map.set(t.portalId, t);
  }
  async disable(id: number, reason: string) {
    this.map.delete(id);
    this.disabled.push(`${id}: ${reason}`);
  }
}

let fake: FakeHubspot;
let now = Date.parse('2026-11-23T09:00:00Z');
const clock = () => now;
beforeEach(async () => {
  now = Date.parse('2026-11-23T09:00:00Z');
  fake = new FakeHubspot({ now: clock });
  await fake.start();
});
afterEach(() => fake.stop());

const gatewayFor = (tokens: TokenStore, rate?: { max: number; intervalMs: number }) =>
  new HubspotGateway(
    {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://signalbox.example.com/hubspot/oauth/callback',
      scopes: ['oauth'],
      basePath: fake.url,
    },
    tokens,
    { now: clock, ...(rate ? { rate } : {}) },
  );

describe('HubSpot gateway through the real SDK', () => {
  it('installs with a code, refreshes ahead of expiry once for concurrent callers, and reads', async () => {
    const tokens = new MemoryTokens();
    const gw = gatewayFor(tokens);
    expect(gw.installUrl('s1')).toContain('client_id=fake-client-id');
    const t = await gw.install(fake.authorizationCode(62515));
    expect(t.portalId).toBe(62515);
    expect(t.expiresAt).toBe(now + 1800_000);
    fake.upsertObject(62515, 'contacts', '901', { email: 'ana@example.com', phone: '+254 711 000 001' });
    const crm = new HubspotCrm(gw);
    expect((await crm.getContact(62515, '901'))?.properties.email).toBe('ana@example.com');
    expect(await crm.getContact(62515, '404')).toBeNull();
    // 26 minutes later: inside the 5-minute margin, ten concurrent calls share one refresh
    now += 26 * 60_000;
    const before = tokens.saves;
    await Promise.all(Array.from({ length: 10 }, () => crm.getContact(62515, '901')));
    expect(tokens.saves - before).toBe(1);
    expect(fake.log.filter((l) => l.path === '/oauth/v3/token').length).toBe(2);
    // a refresh token HubSpot no longer knows (uninstalled) disables the portal
    fake.uninstall(62515);
    now += 30 * 60_000;
    await expect(crm.getContact(62515, '901')).rejects.toBeInstanceOf(HubspotApiError);
    expect(tokens.disabled[0]).toMatch(/^62515: /);
  });

  it('pages contacts, searches modified ones, follows associations, writes communications and properties', async () => {
    const tokens = new MemoryTokens();
    await tokens.save({
      portalId: 7,
      ...(({ access_token, refresh_token, expires_in }) => ({
        accessToken: access_token,
        refreshToken: refresh_token,
        expiresAt: now + expires_in * 1000,
      }))(fake.issueTokens(7)),
    });
    const crm = new HubspotCrm(gatewayFor(tokens));
    fake.seedContacts(7, 250);
    const first = await crm.contactsPage(7, undefined);
    expect(first.contacts).toHaveLength(100);
    expect(first.next).toBe('100');
    const third = await crm.contactsPage(7, '200');
    expect(third.contacts).toHaveLength(50);
    expect(third.next).toBeUndefined();
    now += 60_000;
    fake.upsertObject(7, 'contacts', '42', { firstname: 'Changed' });
    const changed = await crm.modifiedSince(7, now - 1000, undefined);
    expect(changed.contacts.map((c) => c.id)).toEqual(['42']);
    fake.upsertObject(7, 'tickets', '555', { subject: 'Refund' }, ['42']);
    expect(await crm.contactsOf(7, 'tickets', '555')).toEqual(['42']);
    const comm = await crm.logMessage(7, { contactId: '42', channel: 'whatsapp', body: 'Your order shipped', at: now });
    expect(comm.kind).toBe('communication');
    const stored = fake.portal(7).objects.communications?.get(comm.id);
    expect(stored?.properties.hs_communication_channel_type).toBe('WHATS_APP');
    expect(stored?.contacts).toEqual(['42']);
    expect((await crm.logMessage(7, { contactId: '42', channel: 'voice', body: 'Call placed', at: now })).kind).toBe('note');
    await expect(crm.logMessage(7, { contactId: '999999', channel: 'sms', body: 'x', at: now })).rejects.toMatchObject({ status: 400 });
    await crm.ensureProperties(7);
    await crm.ensureProperties(7); // idempotent: 409s are fine
    expect([...fake.portal(7).properties.keys()]).toContain('signalbox_last_decision');
    await crm.updateContact(7, '42', { signalbox_last_decision: 'whatsapp: engaged' });
    expect(fake.portal(7).objects.contacts?.get('42')?.properties.signalbox_last_decision).toBe('whatsapp: engaged');
  });

  it('keeps under the rolling limit: a burst is paced, not refused', async () => {
    // real time for the limiter and the fake's window
    const real = new FakeHubspot();
    await real.start();
    real.rateLimit = { max: 10, intervalMs: 1000 };
    real.seedContacts(9, 5);
    const rt = real.issueTokens(9);
    const realTokens = new MemoryTokens();
    await realTokens.save({ portalId: 9, accessToken: rt.access_token, refreshToken: rt.refresh_token, expiresAt: Date.now() + 1_800_000 });
    const app = {
      clientId: real.clientId,
      clientSecret: real.clientSecret,
      redirectUri: 'https://x.example/cb',
      scopes: ['oauth'],
      basePath: real.url,
    };
    const gw = new HubspotGateway(app, realTokens, { rate: { max: 10, intervalMs: 1000 } });
    const crm = new HubspotCrm(gw);
    await Promise.all(Array.from({ length: 25 }, () => crm.getContact(9, '1')));
    expect(real.throttled).toBe(0);
    // no rolling second saw more than 10 of them
    const at = real.log.map((l) => l.at);
    expect(Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + 1000).length))).toBeLessThanOrEqual(10);
    // a limiter that believes in a higher rate gets 429s, and retries them after the window
    const eager = new HubspotGateway(app, realTokens, { rate: { max: 1000, intervalMs: 1000 } });
    await new Promise((r) => setTimeout(r, 1100));
    const results = await Promise.all(Array.from({ length: 15 }, () => new HubspotCrm(eager).getContact(9, '1')));
    expect(results.every((c) => c?.id === '1')).toBe(true);
    expect(eager.throttled).toBeGreaterThan(0);
    await real.stop();
  });

  it('asks for the optional scopes the app declares: an install that keeps them reads invoices, one that declines them is told which scope is missing', async () => {
    // the scopes the HubSpot project declares are the ones the install link asks for
    const app = JSON.parse(readFileSync(new URL('../../../../integrations/hubspot/src/app/app-hsmeta.json', import.meta.url), 'utf8')) as {
      config: { auth: { requiredScopes: string[]; optionalScopes: string[] } };
    };
    expect([...DEFAULT_SCOPES].sort()).toEqual([...app.config.auth.requiredScopes].sort());
    expect([...DEFAULT_OPTIONAL_SCOPES].sort()).toEqual([...app.config.auth.optionalScopes].sort());
    const install = async (portalId: number, decline: string[]) => {
      const tokens = new MemoryTokens();
      const gw = new HubspotGateway(
        {
          clientId: fake.clientId,
          clientSecret: fake.clientSecret,
          redirectUri: 'https://signalbox.example.com/cb',
          scopes: DEFAULT_SCOPES,
          basePath: fake.url,
        },
        tokens,
        { now: clock },
      );
      // HubSpot's install screen for our link, then its redirect back to us with the code
      const back = new URL(fake.authorize(gw.installUrl('state-1'), { portalId, decline }));
      expect(back.searchParams.get('state')).toBe('state-1');
      await gw.install(back.searchParams.get('code') ?? '');
      fake.upsertObject(portalId, 'contacts', '902', { email: 'otieno@example.com' });
      fake.upsertObject(portalId, 'invoices', '777', { hs_invoice_status: 'overdue' }, ['902']);
      return new HubspotCrm(gw);
    };
    expect(await (await install(11, [])).contactsOf(11, 'invoices', '777')).toEqual(['902']);
    await expect((await install(12, ['crm.objects.invoices.read'])).contactsOf(12, 'invoices', '777')).rejects.toMatchObject({
      status: 403,
      category: 'MISSING_SCOPES',
    });
  });

  it("keeps a burst of searches under HubSpot's per-second search limit (4/s): none is refused", async () => {
    // real time: the gateway's pace against the fake's rolling one-second window
    const real = new FakeHubspot();
    await real.start();
    const t = real.issueTokens(9);
    const tokens = new MemoryTokens();
    await tokens.save({ portalId: 9, accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: Date.now() + 1_800_000 });
    const gw = new HubspotGateway(
      {
        clientId: real.clientId,
        clientSecret: real.clientSecret,
        redirectUri: 'https://x.example/cb',
        scopes: ['oauth'],
        basePath: real.url,
      },
      tokens,
    );
    // cold: the first call opens the connection and loads the SDK, so it arrives late
    await Promise.all(Array.from({ length: 12 }, () => gw.call(9, (cl) => cl.crm.contacts.searchApi.doSearch({ limit: 1 }), 'search')));
    expect(real.log.filter((l) => l.path.endsWith('/search') && l.status === 429)).toEqual([]);
    await real.stop();
  });
});
