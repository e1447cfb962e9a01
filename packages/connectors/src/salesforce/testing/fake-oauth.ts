/**
 * The fake's OAuth 2.0 server: web server flow (authorize → code → tokens), refresh, and the JWT
 * bearer flow, answering with the fields jsforce reads (`access_token`, `instance_url`, `id`,
 * `issued_at`, `signature`, `token_type`, `scope`). Errors come as `{error, error_description}`.
 */
import { createHmac, createVerify, type KeyObject, randomBytes } from 'node:crypto';

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

interface Grant {
  orgId: string;
  userId: string;
}

export class FakeOAuth {
  private readonly codes = new Map<string, Grant & { redirectUri: string; expiresAt: number }>();
  private readonly access = new Map<string, Grant & { expiresAt: number }>();
  private readonly refresh = new Map<string, Grant>();
  /** username → who; for the JWT bearer flow (the user must be pre-authorised for the app). */
  readonly users = new Map<string, Grant & { approved: boolean }>();
  /** The certificate (public key) uploaded to the connected app for the JWT bearer flow. */
  jwtPublicKey: KeyObject | null = null;
  /** Access-token lifetime (Salesforce: the org's session timeout, 2 h by default). */
  sessionTtlMs = 2 * 3600_000;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly now: () => number,
  ) {}

  private tokens(g: Grant, base: string, withRefresh: boolean): Record<string, string> {
    const accessToken = `${g.orgId.slice(0, 15)}!${randomBytes(24).toString('base64url')}`;
    this.access.set(accessToken, { ...g, expiresAt: this.now() + this.sessionTtlMs });
    const issuedAt = String(this.now());
    const id = `${base}/id/${g.orgId}/${g.userId}`;
    const out: Record<string, string> = {
      access_token: accessToken,
      signature: createHmac('sha256', this.clientSecret)
        .update(id + issuedAt)
        .digest('base64'),
      scope: withRefresh ? 'refresh_token api' : 'api',
      instance_url: base,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
    if (withRefresh) {
      const rt = `5Aep${randomBytes(32).toString('base64url')}`;
      this.refresh.set(rt, g);
      out.refresh_token = rt;
    }
    return out;
  }

  /** A code as Salesforce appends to the redirect URI once an admin approves the app. */
  code(orgId: string, userId: string, redirectUri: string): string {
    const code = `aPrx${randomBytes(24).toString('base64url')}`;
    this.codes.set(code, { orgId, userId, redirectUri, expiresAt: this.now() + 15 * 60_000 });
    return code;
  }

  /** Tokens without the browser dance (tests, the CLI). */
  issue(orgId: string, userId: string, base: string): Record<string, string> {
    return this.tokens({ orgId, userId }, base, true);
  }

  /** Every access token of the org stops working (session timeout, admin revoked sessions). */
  expireSessions(orgId: string): void {
    for (const [t, g] of this.access) if (g.orgId === orgId) this.access.delete(t);
  }

  /** The app's refresh tokens for the org are revoked (Connected Apps OAuth Usage → Revoke). */
  revokeRefreshTokens(orgId: string): void {
    for (const [t, g] of this.refresh) if (g.orgId === orgId) this.refresh.delete(t);
    this.expireSessions(orgId);
  }

  /** GET /services/oauth2/authorize: auto-approves as `user` of `org` and redirects with the code. */
  authorize(q: URLSearchParams, grant: Grant): string {
    if (q.get('response_type') !== 'code') throw new OAuthError(400, 'unsupported_response_type', 'response type not supported');
    if (q.get('client_id') !== this.clientId) throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
    const redirect = q.get('redirect_uri');
    if (redirect === null) throw new OAuthError(400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
    const u = new URL(redirect);
    u.searchParams.set('code', this.code(grant.orgId, grant.userId, redirect));
    const state = q.get('state');
    if (state !== null) u.searchParams.set('state', state);
    return u.toString();
  }

  /** POST /services/oauth2/token */
  token(form: URLSearchParams, base: string, audience: string): Record<string, string> {
    const grant = form.get('grant_type');
    if (grant === 'authorization_code' || grant === 'refresh_token') {
      if (form.get('client_id') !== this.clientId) throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
      if (form.get('client_secret') !== this.clientSecret) throw new OAuthError(400, 'invalid_client', 'invalid client credentials');
    }
    if (grant === 'authorization_code') {
      const code = form.get('code') ?? '';
      const c = this.codes.get(code);
      this.codes.delete(code);
      if (c === undefined || c.expiresAt < this.now()) throw new OAuthError(400, 'invalid_grant', 'invalid authorization code');
      if (form.get('redirect_uri') !== c.redirectUri)
        throw new OAuthError(400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
      return this.tokens(c, base, true);
    }
    if (grant === 'refresh_token') {
      const g = this.refresh.get(form.get('refresh_token') ?? '');
      if (g === undefined) throw new OAuthError(400, 'invalid_grant', 'expired access/refresh token');
      return this.tokens(g, base, false);
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return this.tokens(this.jwt(form.get('assertion') ?? '', audience), base, false);
    throw new OAuthError(400, 'unsupported_grant_type', 'grant type not supported');
  }

  /** Checks a JWT bearer assertion as Salesforce documents: RS256, iss, aud, sub, exp ≤ 3 min away. */
  private jwt(assertion: string, audience: string): Grant {
    const parts = assertion.split('.');
    if (parts.length !== 3 || this.jwtPublicKey === null) throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
    const [h, p, s] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'RS256') throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(this.jwtPublicKey, Buffer.from(s, 'base64url'));
    if (!ok) throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: string; sub?: string; aud?: string; exp?: number };
    if (claims.iss !== this.clientId) throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
    if (claims.aud !== audience) throw new OAuthError(400, 'invalid_grant', 'audience is invalid');
    const nowS = this.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < nowS) throw new OAuthError(400, 'invalid_grant', 'expired authorization code');
    if (claims.exp > nowS + 180 + 5) throw new OAuthError(400, 'invalid_grant', 'invalid assertion: exp must be within 3 minutes');
    const user = this.users.get(claims.sub ?? '');
    if (user === undefined) throw new OAuthError(400, 'invalid_grant', 'user hasn’t approved this consumer');
    if (!user.approved) throw new OAuthError(400, 'invalid_grant', 'user hasn’t approved this consumer');
    return { orgId: user.orgId, userId: user.userId };
  }

  /** The org behind a REST `Authorization: Bearer` (or CometD `OAuth`) header, or null. */
  check(header: string | undefined): Grant | null {
    const token = /^(?:Bearer|OAuth) (.+)$/.exec(header ?? '')?.[1];
    const g = token === undefined ? undefined : this.access.get(token);
    if (g === undefined || g.expiresAt <= this.now()) return null;
    return { orgId: g.orgId, userId: g.userId };
  }
}
