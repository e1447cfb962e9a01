import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKey, Role } from '../config.js';
import { HttpProblem } from './problem.js';

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
 * API keys (Authorization: Bearer <secret> or X-API-Key). Secrets are compared as SHA-256
 * digests in constant time, so neither length nor content leaks through timing.
 */
export function apiKeyAuth(keys: readonly ApiKey[]) {
  const table = keys.map((k) => ({ name: k.name, role: k.role, digest: digest(k.secret) }));
  return (roles: readonly Role[]) => (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const presented = header?.startsWith('Bearer ') ? header.slice(7).trim() : req.get('x-api-key');
    if (!presented) {
      next(new HttpProblem(401, 'AUTH_REQUIRED', 'Unauthorized', 'an API key is required (Authorization: Bearer <key>)'));
      return;
    }
    const d = digest(presented);
    const match = table.find((k) => timingSafeEqual(k.digest, d));
    if (match === undefined) {
      next(new HttpProblem(401, 'AUTH_INVALID', 'Unauthorized', 'the API key is not valid'));
      return;
    }
    if (!roles.includes(match.role)) {
      next(new HttpProblem(403, 'ROLE_FORBIDDEN', 'Forbidden', `role ${match.role} may not do this (needs ${roles.join(' or ')})`));
      return;
    }
    req.principal = { name: match.name, role: match.role };
    next();
  };
}
