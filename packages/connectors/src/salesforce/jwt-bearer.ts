import { createSign } from 'node:crypto';

/** The grant type of Salesforce's OAuth 2.0 JWT bearer flow (server-to-server, no refresh token). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * A JWT bearer assertion as Salesforce documents it: header `{"alg":"RS256"}`, claims `iss` (the
 * connected app's consumer key), `sub` (the username), `aud` (the login URL: login.salesforce.com,
 * test.salesforce.com or the Experience Cloud site) and `exp` (at most 3 minutes ahead, in seconds),
 * signed with the private key whose certificate is uploaded to the connected app.
 */
export function jwtAssertion(a: {
  clientId: string;
  username: string;
  audience: string;
  privateKeyPem: string;
  nowMs: number;
  ttlSeconds?: number;
}): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const ttl = Math.min(180, a.ttlSeconds ?? 170);
  const input = `${enc({ alg: 'RS256' })}.${enc({ iss: a.clientId, sub: a.username, aud: a.audience, exp: Math.floor(a.nowMs / 1000) + ttl })}`;
  const sig = createSign('RSA-SHA256').update(input).sign(a.privateKeyPem).toString('base64url');
  return `${input}.${sig}`;
}
