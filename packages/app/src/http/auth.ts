import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey, Role } from '../config.js';
import { AppError, AuthError } from '../errors.js';
import type { KeyGuesses } from '../security/key-guesses.js';
import { clientAddress } from './client-address.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface Principal {
  name: string;
  role: Role;
}

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/**
 * Another way to be someone (the admin console's session cookie): the principal, null for a
 * session that does not count, undefined when the request has none. `csrf` says whether a write
 * carried its session's token.
 */
export type SessionAuth = (req: Request) => Promise<{ principal: Principal; csrf: boolean } | null | undefined>;

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const BEARER = /^bearer[ \t]+(.+)$/i;

/**
 * API keys (Authorization: Bearer <secret> or X-API-Key). Secrets are compared as SHA-256
 * digests in constant time, so neither length nor content leaks through timing. Without a key, a
 * console session (when `session` is given) identifies the caller; its writes need the CSRF token.
 * With `guesses`, an address that presented too many keys that are not valid is refused any key
 * for a while (429 AUTH_RATE_LIMITED with Retry-After).
 */
export function apiKeyAuth(keys: readonly ApiKey[], session?: SessionAuth, guesses?: { keys: KeyGuesses; now: () => number }) {
  const identify = apiKeyPrincipal(keys);
  return (roles: readonly Role[]) => async (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedKey((name) => req.get(name));
    // a refused address is answered before its key is compared: how long the answer takes tells
    // nothing about the key
    if (presented !== undefined && guesses !== undefined) {
      const wait = Math.ceil(guesses.keys.retryAfter(clientAddress(req), guesses.now()) / 1000);
      if (wait > 0) {
        res.set('retry-after', String(wait));
        next(keyGuessesRefused(wait));
        return;
      }
    }
    let who = identify((name) => req.get(name));
    if (who === null && guesses !== undefined) guesses.keys.failed(clientAddress(req), presented ?? '', guesses.now());
    if (who === undefined && session !== undefined) {
      let s: Awaited<ReturnType<SessionAuth>>;
      try {
        s = await session(req);
      } catch (err) {
        next(err);
        return;
      }
      if (s === null) {
        next(new AuthError(401, 'SESSION_INVALID', 'the console session has expired or is not valid: sign in again'));
        return;
      }
      if (s !== undefined) {
        if (!SAFE.has(req.method) && !s.csrf) {
          next(new AuthError(403, 'CSRF_TOKEN_INVALID', 'a console write needs its session token (X-CSRF-Token) and the same origin'));
          return;
        }
        who = s.principal;
      }
    }
    if (who === undefined) {
      next(new AuthError(401, 'AUTH_REQUIRED', 'an API key is required (Authorization: Bearer <key>)'));
      return;
    }
    if (who === null) {
      next(new AuthError(401, 'AUTH_INVALID', 'the API key is not valid'));
      return;
    }
    if (!roles.includes(who.role)) {
      next(new AuthError(403, 'ROLE_FORBIDDEN', `role ${who.role} may not do this (needs ${roles.join(' or ')})`));
      return;
    }
    req.principal = who;
    next();
  };
}

export const keyGuessesRefused = (wait: number) =>
  new AppError(429, 'AUTH_RATE_LIMITED', `too many API keys that are not valid from this address: try again in ${wait} s`);

/** The key a request presents (Bearer, else X-API-Key), if any. */
export function presentedKey(header: (name: string) => string | undefined): string | undefined {
  // the scheme's name is case-insensitive (RFC 9110 §11.1); another scheme (a proxy's Basic) is not ours
  const bearer = BEARER.exec(header('authorization') ?? '')?.[1]?.trim();
  return bearer || header('x-api-key') || undefined;
}

/**
 * The key check itself, from a request's headers: the principal, null for a key that is not
 * valid, undefined when no key was presented.
 */
export function apiKeyPrincipal(keys: readonly ApiKey[]) {
  const table = keys.map((k) => ({ name: k.name, role: k.role, digest: digest(k.secret) }));
  return (header: (name: string) => string | undefined): Principal | null | undefined => {
    const presented = presentedKey(header);
    if (!presented) return undefined;
    const d = digest(presented);
    const match = table.find((k) => timingSafeEqual(k.digest, d));
    return match === undefined ? null : { name: match.name, role: match.role };
  };
}
