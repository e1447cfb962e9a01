import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { PortalTokens, TokenStore } from '@signalbox/connectors';
import type { Store } from '../store/store.js';

/** AES-256-GCM with a 32-byte key from the environment; iv and tag travel with the ciphertext. */
export class TokenCipher {
  private readonly key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the token key must be 32 bytes');
    this.key = key;
  }
  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }
  open(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || iv === undefined || tag === undefined || body === undefined) throw new Error('not a sealed token');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
  }
}

/** Portals' OAuth tokens in the store, encrypted at rest. A disabled portal is never called. */
export class DbTokenStore implements TokenStore {
  constructor(
    private readonly store: Store,
    private readonly cipher: TokenCipher,
    private readonly now: () => number,
  ) {}

  async get(portalId: number): Promise<PortalTokens | null> {
    const row = await this.store.db
      .selectFrom('crm_portals')
      .selectAll()
      .where('crm', '=', 'hubspot')
      .where('portal_id', '=', String(portalId))
      .executeTakeFirst();
    if (row === undefined || row.status !== 'active') return null;
    const t = JSON.parse(this.cipher.open(row.tokens)) as { accessToken: string; refreshToken: string };
    return { portalId, accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: row.expires_at };
  }

  async save(t: PortalTokens): Promise<void> {
    const now = this.now();
    const sealed = this.cipher.seal(JSON.stringify({ accessToken: t.accessToken, refreshToken: t.refreshToken }));
    await this.store.db
      .insertInto('crm_portals')
      .values({
        crm: 'hubspot',
        portal_id: String(t.portalId),
        tokens: sealed,
        expires_at: t.expiresAt,
        status: 'active',
        status_reason: null,
        installed_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc
          .columns(['crm', 'portal_id'])
          .doUpdateSet({ tokens: sealed, expires_at: t.expiresAt, status: 'active', status_reason: null, updated_at: now }),
      )
      .execute();
  }

  async disable(portalId: number, reason: string): Promise<void> {
    await this.store.db
      .updateTable('crm_portals')
      .set({ status: 'disabled', status_reason: reason.slice(0, 500), updated_at: this.now() })
      .where('crm', '=', 'hubspot')
      .where('portal_id', '=', String(portalId))
      .execute();
  }

  async activePortals(): Promise<number[]> {
    const rows = await this.store.db
      .selectFrom('crm_portals')
      .select('portal_id')
      .where('crm', '=', 'hubspot')
      .where('status', '=', 'active')
      .execute();
    return rows.map((r) => Number(r.portal_id));
  }
}
