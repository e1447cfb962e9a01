import { newPanelKey, type SalesforceOrgTokens, type SalesforceTokenStore } from '@signalbox/connectors';
import type { TokenCipher } from '../../security/token-cipher.js';
import type { CrmAccounts } from '../crm-accounts.js';

/** What is sealed per org: its tokens, and the key its panel's Named Credential sends. */
interface Sealed {
  tokens: SalesforceOrgTokens;
  panelKey: string;
}

/**
 * Connected orgs' credentials in the store, encrypted at rest (AES-256-GCM), with the key issued to
 * each org for its record panel. A disabled org (re-authorisation needed) is never called.
 */
export class SalesforceTokens implements SalesforceTokenStore {
  constructor(
    private readonly accounts: CrmAccounts,
    private readonly cipher: TokenCipher,
    private readonly now: () => number,
  ) {}

  private async sealed(orgId: string): Promise<Sealed | null> {
    const row = await this.accounts.get('salesforce', orgId);
    if (row === null || row.status !== 'active') return null;
    return JSON.parse(this.cipher.open(row.sealed)) as Sealed;
  }

  async get(orgId: string): Promise<SalesforceOrgTokens | null> {
    return (await this.sealed(orgId))?.tokens ?? null;
  }

  /** Saves an org's tokens (a refresh keeps the org's panel key; a first connection issues one). */
  async save(tokens: SalesforceOrgTokens): Promise<void> {
    const before = await this.accounts.get('salesforce', tokens.orgId);
    const panelKey = before === null ? newPanelKey() : (JSON.parse(this.cipher.open(before.sealed)) as Sealed).panelKey;
    const sealed = this.cipher.seal(JSON.stringify({ tokens, panelKey } satisfies Sealed));
    await this.accounts.save('salesforce', tokens.orgId, sealed, tokens.issuedAt, this.now());
  }

  async disable(orgId: string, reason: string): Promise<void> {
    await this.accounts.disable('salesforce', orgId, reason, this.now());
  }

  /** The key an org's panel presents (null: the org is not connected, or disabled). */
  async panelKey(orgId: string): Promise<string | null> {
    return (await this.sealed(orgId))?.panelKey ?? null;
  }

  /** Issues a new panel key for an org (the old one stops working); returns it. */
  async rotatePanelKey(orgId: string): Promise<string | null> {
    const s = await this.sealed(orgId);
    if (s === null) return null;
    const panelKey = newPanelKey();
    await this.accounts.save('salesforce', orgId, this.cipher.seal(JSON.stringify({ ...s, panelKey })), s.tokens.issuedAt, this.now());
    return panelKey;
  }
}
