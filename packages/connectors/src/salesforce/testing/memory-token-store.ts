import type { SalesforceOrgTokens, SalesforceTokenStore } from '../gateway.js';

/** Tokens in memory, for tests and the fake's CLI (the app keeps them encrypted in its store). */
export class MemoryTokenStore implements SalesforceTokenStore {
  readonly map = new Map<string, SalesforceOrgTokens>();
  readonly disabled: string[] = [];
  saves = 0;
  async get(orgId: string): Promise<SalesforceOrgTokens | null> {
    return this.map.get(orgId) ?? null;
  }
  async save(t: SalesforceOrgTokens): Promise<void> {
    this.saves++;
    this.map.set(t.orgId, t);
  }
  async disable(orgId: string, reason: string): Promise<void> {
    this.map.delete(orgId);
    this.disabled.push(`${orgId}: ${reason}`);
  }
}
