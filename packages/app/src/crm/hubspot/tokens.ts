import type { PortalTokens, TokenStore } from '@signalbox/connectors';
import type { TokenCipher } from '../../security/token-cipher.js';
import type { CrmAccounts } from '../crm-accounts.js';

/** Portals' OAuth tokens in the store, encrypted at rest. A disabled portal is never called. */
export class HubspotTokens implements TokenStore {
  constructor(
    private readonly accounts: CrmAccounts,
    private readonly cipher: TokenCipher,
    private readonly now: () => number,
  ) {}

  async get(portalId: number): Promise<PortalTokens | null> {
    const row = await this.accounts.get('hubspot', String(portalId));
    if (row === null || row.status !== 'active') return null;
    const t = JSON.parse(this.cipher.open(row.sealed)) as { accessToken: string; refreshToken: string };
    return { portalId, accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: row.expiresAt };
  }

  async save(t: PortalTokens): Promise<void> {
    const sealed = this.cipher.seal(JSON.stringify({ accessToken: t.accessToken, refreshToken: t.refreshToken }));
    await this.accounts.save('hubspot', String(t.portalId), sealed, t.expiresAt, this.now());
  }

  async disable(portalId: number, reason: string): Promise<void> {
    await this.accounts.disable('hubspot', String(portalId), reason, this.now());
  }

  async activePortals(): Promise<number[]> {
    return (await this.accounts.active('hubspot')).map(Number);
  }
}
