import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import {
  ConsoleSessions,
  cookieValue,
  SESSION_COOKIE,
  SESSION_MS,
  type SessionData,
  type SignedOut,
  sessionCookie,
} from '../../admin/sessions.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { ApiKey } from '../../config.js';
import { AppError, AuthError } from '../../errors.js';
import type { KeyGuesses } from '../../security/key-guesses.js';
import { apiKeyPrincipal, type SessionAuth } from '../auth.js';
import { clientAddress } from '../client-address.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';

/** The console's Content-Security-Policy: only our own files, no inline script, no framing. */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'content-security-policy': ADMIN_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  });
  next();
};

const signInBody = z.strictObject({ key: z.string().min(1).max(500) });

/** A key whose role cannot sign in is audited once in this long (per instance), however often it is tried. */
const ROLE_REFUSAL_AUDIT_MS = 5 * 60_000;

/** Whether a name is seen for the first time within a window (names are the deployment's key names: a handful). */
class OncePerWindow {
  private readonly last = new Map<string, number>();
  constructor(private readonly windowMs: number) {}
  firstIn(name: string, now: number): boolean {
    const at = this.last.get(name);
    if (at !== undefined && now - at < this.windowMs) return false;
    this.last.set(name, now);
    return true;
  }
}

export interface AdminDeps {
  keys: readonly ApiKey[];
  sessions: ConsoleSessions;
  audit: AuditLog;
  now: () => number;
  /** The built console (index.html and assets/). */
  dir: string;
  /** Cookies marked Secure (the app is reached over HTTPS). */
  secure: boolean;
  /** Keys guessed wrong per address (10 in 5 minutes, then 429 until the window frees), shared with the API's key check: a bad sign-in is a guess too. */
  keyGuesses: KeyGuesses;
  /** Sessions signed out before they expire. */
  signedOut: SignedOut;
}

/** Whether a request comes from this very origin (when it says where it comes from). */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

/**
 * A request's console session, when it counts: signed by us, not expired, its key still configured
 * with the same name and role, not signed out. `undefined` without a session cookie, null for one
 * that does not count.
 */
async function liveSession(
  d: { sessions: ConsoleSessions; keys: readonly ApiKey[]; signedOut: SignedOut; now: () => number },
  req: Request,
): Promise<SessionData | null | undefined> {
  const value = cookieValue(req.get('cookie'), SESSION_COOKIE);
  if (value === undefined) return undefined;
  const s = d.sessions.read(value, d.now());
  if (s === null || !d.sessions.keyStillValid(s, d.keys) || (await d.signedOut.has(s))) return null;
  return s;
}

/** The console session of a request (for `apiKeyAuth`): the session checked (`liveSession`), CSRF header and origin checked. */
export function consoleSessionAuth(d: {
  sessions: ConsoleSessions;
  keys: readonly ApiKey[];
  signedOut: SignedOut;
  now: () => number;
}): SessionAuth {
  return async (req) => {
    const s = await liveSession(d, req);
    if (s === null || s === undefined) return s;
    return { principal: { name: s.name, role: s.role }, csrf: ConsoleSessions.csrfOk(s, req.get('x-csrf-token')) && sameOrigin(req) };
  };
}

const answer = (s: SessionData) => ({ name: s.name, role: s.role, csrf: s.csrf, expiresAt: new Date(s.exp).toISOString() });

/** The admin console: its page and sign-in (the page's files are mounted by `adminAssets`). */
export function adminRoutes(d: AdminDeps): RouteSpec[] {
  const identify = apiKeyPrincipal(d.keys);
  const signIns = d.keyGuesses;
  const refusedRoles = new OncePerWindow(ROLE_REFUSAL_AUDIT_MS);
  const current = async (req: Request) => (await liveSession(d, req)) ?? null;
  const page = (_req: Request, res: Response) => {
    const index = join(d.dir, 'index.html');
    securityHeaders(_req, res, () => undefined);
    if (!existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .send('The admin console is not built yet: run `pnpm --filter @signalbox/admin-ui build` (pnpm start does it).');
      return;
    }
    // CodeMirror writes its styles into one <style> element: allowed by a nonce of this answer only
    const nonce = randomBytes(16).toString('base64');
    res
      .set('content-security-policy', ADMIN_CSP.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`))
      .set('cache-control', 'no-store')
      .type('html')
      .send(readFileSync(index, 'utf8').replace('<head>', `<head>\n    <meta name="csp-nonce" content="${nonce}" />`));
  };
  return [
    {
      method: 'get',
      path: '/',
      summary: 'Where to go: the admin console',
      tags: ['admin'],
      security: 'none',
      responses: { 302: 'to /admin' },
      handler: (_req, res) => res.redirect(302, '/admin/'),
    },
    {
      method: 'get',
      path: '/admin',
      summary: 'The admin console page (also at /admin/; sign in with an admin or agent key)',
      tags: ['admin'],
      security: 'none',
      responses: { 200: 'the page' },
      produces: 'text/html',
      handler: page,
    },
    {
      method: 'post',
      path: '/admin/session',
      summary:
        'Signs in to the console with an admin or agent API key: an HttpOnly, SameSite=Strict session cookie and the CSRF token for writes',
      tags: ['admin'],
      security: 'none',
      body: signInBody,
      responses: {
        200: '{name, role, csrf, expiresAt} and Set-Cookie',
        401: 'AUTH_INVALID: the key is not valid',
        403: 'ROLE_FORBIDDEN: a key of a role that cannot sign in (integration, metrics); CSRF_TOKEN_INVALID: not from the console',
        429: 'too many failed sign-ins from this address (Retry-After)',
      },
      handler: async (req, res) => {
        if (!sameOrigin(req)) throw new AuthError(403, 'CSRF_TOKEN_INVALID', 'sign in from the console itself');
        // guessing keys from one address is refused for a while, whatever key comes next
        const client = clientAddress(req);
        const wait = Math.ceil(signIns.retryAfter(client, d.now()) / 1000);
        if (wait > 0) {
          res.set('retry-after', String(wait));
          throw new AppError(429, 'SIGN_IN_RATE_LIMITED', `too many failed sign-ins from this address: try again in ${wait} s`);
        }
        const body = parseBody(signInBody, req.body);
        const who = identify((name) => (name === 'x-api-key' ? body.key : undefined));
        // refusals are audited as well: whoever reads the log sees keys being tried, by a fingerprint
        // of where they came from (the same on every instance, never the address) and whether that
        // source now waits; an unknown key's holder is nobody the log can name. Each guess once: the
        // same wrong key again is no new guess (and makes no one wait), so it writes nothing, and a
        // source holds at most ten guesses before it waits: unsigned clients cannot fill the log
        if (who === undefined || who === null) {
          const { guesser, fresh, waits } = signIns.failed(client, body.key, d.now());
          if (fresh || waits)
            await d.audit.record(
              'unknown',
              'session.refused',
              '',
              { via: 'console', code: 'AUTH_INVALID', source: guesser, ...(waits ? { waits: true } : {}) },
              d.now(),
            );
          throw new AuthError(401, 'AUTH_INVALID', 'the API key is not valid');
        }
        if (who.role !== 'admin' && who.role !== 'agent') {
          // a valid key of another role: once per key in a while, however often it is tried
          if (refusedRoles.firstIn(who.name, d.now()))
            await d.audit.record(
              `${who.role}:${who.name}`,
              'session.refused',
              who.name,
              { via: 'console', code: 'ROLE_FORBIDDEN' },
              d.now(),
            );
          throw new AuthError(403, 'ROLE_FORBIDDEN', `${who.role} keys cannot use the console (sign in with an admin or agent key)`);
        }
        const { cookie, data } = d.sessions.issue({ name: who.name, role: who.role, secret: body.key }, d.now());
        await d.audit.record(`${who.role}:${who.name}`, 'session.start', who.name, { via: 'console' }, d.now());
        res
          .set('set-cookie', sessionCookie(cookie, d.secure, SESSION_MS))
          .set('cache-control', 'no-store')
          .json(answer(data));
      },
    },
    {
      method: 'get',
      path: '/admin/session',
      summary: 'The console session this cookie stands for (and its CSRF token)',
      tags: ['admin'],
      security: 'cookie',
      responses: { 200: '{name, role, csrf, expiresAt}' },
      handler: async (req, res) => {
        const s = await current(req);
        if (s === null) throw new AuthError(401, 'AUTH_REQUIRED', 'not signed in to the console');
        res.set('cache-control', 'no-store').json(answer(s));
      },
    },
    {
      method: 'delete',
      path: '/admin/session',
      summary: 'Signs out of the console',
      tags: ['admin'],
      security: 'cookie',
      responses: { 204: 'cookie cleared' },
      handler: async (req, res) => {
        // the cookie's own session (signed, not expired), whether or not it was signed out already
        const s = d.sessions.read(cookieValue(req.get('cookie'), SESSION_COOKIE), d.now());
        if (s !== null && !(ConsoleSessions.csrfOk(s, req.get('x-csrf-token')) && sameOrigin(req)))
          throw new AuthError(403, 'CSRF_TOKEN_INVALID', 'signing out needs the session token');
        // the cookie a browser drops may have been copied: the session itself ends, on every instance
        // (the cookie is cleared even when that cannot be recorded right now: the 503 says so)
        res.set('set-cookie', sessionCookie('', d.secure, 0));
        if (s !== null) {
          await d.signedOut.add(s, d.now());
          await d.audit.record(`${s.role}:${s.name}`, 'session.end', s.name, { via: 'console' }, d.now());
        }
        res.status(204).end();
      },
    },
  ];
}

/** The console's built files (hashed names: cached for good), with its security headers. */
export function adminAssets(dir: string): RequestHandler[] {
  return [securityHeaders, express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: true })];
}
