import { type SalesforceAppConfig, SalesforceGateway } from '../gateway.js';
import type { FakeSalesforce } from './fake-salesforce.js';
import { MemoryTokenStore } from './memory-token-store.js';

/** A gateway already connected to a fake org (tokens issued without the browser flow). */
export async function connectedGateway(
  fake: FakeSalesforce,
  orgId: string,
  opts: ConstructorParameters<typeof SalesforceGateway>[2] = {},
  app: Partial<SalesforceAppConfig> = {},
): Promise<{ gateway: SalesforceGateway; tokens: MemoryTokenStore }> {
  const tokens = new MemoryTokenStore();
  const t = fake.issueTokens(orgId);
  await tokens.save({
    orgId,
    userId: fake.org(orgId).integrationUserId,
    instanceUrl: t.instance_url as string,
    loginUrl: fake.url,
    accessToken: t.access_token as string,
    grant: { kind: 'refresh_token', refreshToken: t.refresh_token as string },
    issuedAt: Number(t.issued_at),
  });
  const gateway = new SalesforceGateway(
    {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://signalbox.example.com/salesforce/oauth/callback',
      loginUrl: fake.url,
      ...app,
    },
    tokens,
    opts,
  );
  return { gateway, tokens };
}
