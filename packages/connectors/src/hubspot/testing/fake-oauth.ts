/**
 * HubSpot's OAuth as the fake plays it: the install screen (an install URL's `scope` is granted
 * whole; each `optional_scope` only unless the installing user declines it), authorization codes,
 * refresh tokens that last until uninstall, access tokens that expire, and token answers in the
 * specs' `AccessTokenResponse` shape (`scopes`, `hub_id`, `token_use`, `expires_in`, …).
 */
import { randomUUID } from 'node:crypto';
import { HsError } from './fake-errors.js';

export interface Grant {
  portalId: number;
  scopes: readonly string[];
}

export interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'bearer';
  token_use: 'access_token';
  hub_id: number;
  user_id: number;
  scopes: string[];
}

/** The user who installs, as HubSpot reports it in token answers. */
const INSTALLING_USER = 45678;

export class FakeOAuth {
  private readonly codes = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, Grant & { expiresAt: number }>();

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  code(grant: Grant): string {
    const code = `code-${randomUUID()}`;
    this.codes.set(code, grant);
    return code;
  }

  /**
   * The install screen: the user approves `installUrl` (as our gateway builds it) for a portal,
   * declining optional scopes if asked to. Returns where HubSpot redirects the browser.
   */
  authorize(installUrl: string, portalId: number, decline: readonly string[] = []): string {
    const u = new URL(installUrl);
    if (u.searchParams.get('client_id') !== this.clientId) throw new Error('the install URL names another app');
    const redirect = u.searchParams.get('redirect_uri');
    if (redirect === null) throw new Error('the install URL has no redirect_uri');
    const split = (k: string) => (u.searchParams.get(k) ?? '').split(/[ +]/).filter((s) => s !== '');
    const required = split('scope');
    const optional = split('optional_scope');
    const refused = decline.filter((s) => required.includes(s));
    if (refused.length > 0) throw new Error(`required scopes cannot be declined at install: ${refused.join(', ')}`);
    const back = new URL(redirect);
    back.searchParams.set('code', this.code({ portalId, scopes: [...required, ...optional.filter((s) => !decline.includes(s))] }));
    const state = u.searchParams.get('state');
    if (state !== null) back.searchParams.set('state', state);
    return back.toString();
  }

  /** Tokens without the install flow. */
  issue(grant: Grant): TokenAnswer {
    const refresh = `rt-${randomUUID()}`;
    this.refreshTokens.set(refresh, grant);
    return this.answer(grant, refresh);
  }

  private answer(grant: Grant, refreshToken: string): TokenAnswer {
    const access = `at-${grant.portalId}-${randomUUID()}`;
    this.accessTokens.set(access, { ...grant, expiresAt: this.now() + this.ttlSeconds * 1000 });
    return {
      access_token: access,
      refresh_token: refreshToken,
      expires_in: this.ttlSeconds,
      token_type: 'bearer',
      token_use: 'access_token',
      hub_id: grant.portalId,
      user_id: INSTALLING_USER,
      scopes: [...grant.scopes],
    };
  }

  /** POST /oauth/{v1,v3,2026-03}/token, form-encoded. */
  token(form: URLSearchParams): TokenAnswer {
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      throw new HsError(400, 'BAD_CLIENT_ID', 'missing or unknown client id', { error: 'invalid_client' });
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = this.codes.get(code);
      if (grant === undefined)
        throw new HsError(400, 'BAD_AUTH_CODE', 'auth code not found', { error: 'invalid_grant', status: 'BAD_AUTH_CODE' });
      this.codes.delete(code);
      return this.issue(grant);
    }
    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const grant = this.refreshTokens.get(token);
      if (grant === undefined)
        throw new HsError(400, 'BAD_REFRESH_TOKEN', 'missing or unknown refresh token', {
          error: 'invalid_grant',
          status: 'BAD_REFRESH_TOKEN',
        });
      return this.answer(grant, token);
    }
    throw new HsError(400, 'BAD_GRANT_TYPE', `unsupported grant_type ${grantType}`, { error: 'unsupported_grant_type' });
  }

  /** The grant behind a bearer token, or HubSpot's 401. */
  authenticate(header: string | undefined): Grant {
    const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
    const t = token === undefined ? undefined : this.accessTokens.get(token);
    if (t === undefined)
      throw new HsError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication.');
    if (t.expiresAt <= this.now())
      throw new HsError(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired 1 second(s) ago.');
    return t;
  }

  /** Uninstall: every token of the portal stops working. */
  revoke(portalId: number): void {
    for (const [t, v] of this.accessTokens) if (v.portalId === portalId) this.accessTokens.delete(t);
    for (const [t, v] of this.refreshTokens) if (v.portalId === portalId) this.refreshTokens.delete(t);
  }
}
