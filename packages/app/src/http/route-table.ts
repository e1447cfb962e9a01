import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Role } from '../config.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** How a route's caller proves who it is (OpenAPI security scheme names). */
export type Security =
  | 'apiKey'
  | 'providerSignature'
  | 'twilioSignature'
  | 'telerivetSecret'
  | 'unsubscribeToken'
  | 'hubspotSignature'
  | 'salesforceOrg'
  | 'salesforcePanelKey'
  | 'cookie'
  | 'none';

/** One route: mounted from this, and described in /openapi.json from the same schemas it validates with. */
export interface RouteSpec {
  method: Method;
  /** The full path template (`/api/v1/messages/:id`): also the metrics label. */
  path: string;
  summary: string;
  tags: string[];
  security: Security;
  /** API key roles allowed (with `security: 'apiKey'`). */
  roles?: readonly Role[];
  /** The JSON body's schema (validated by the handler with `parseBody`). */
  body?: z.ZodType;
  /** Query parameters' schema. */
  query?: z.ZodType;
  /** Headers the route reads (name → description). */
  headers?: Record<string, string>;
  /** Its answers (status → description): a 2xx in `produces`, a 4xx as problem+json. */
  responses: Record<number, string>;
  /** The media type of its 2xx answers (default application/json). */
  produces?: string;
  /** Where the body is read by the handler itself (signatures cover the raw bytes); up to 1 MB unless a limit is given. */
  rawBody?: boolean | { limit: number };
  handler: RequestHandler;
}

/**
 * Every route of the app in one table: `mount` puts them on Express (with full paths, so a route
 * always knows its template), `openapi` describes exactly these.
 */
export class RouteTable {
  readonly routes: RouteSpec[] = [];

  add(...specs: RouteSpec[]): void {
    this.routes.push(...specs);
  }

  /**
   * The methods some route serves at a request's path (as Express matches it: parameters are one
   * segment, case and a trailing slash do not matter), in upper case with HEAD beside GET: what a
   * 405's `Allow` says. Empty when no route has the path.
   */
  methodsAt(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (pathPattern(r.path).test(path)) out.add(r.method.toUpperCase());
    if (out.has('GET')) out.add('HEAD');
    return [...out].sort();
  }

  /**
   * The name of the route parameter a path's first undecodable segment stands for (`/contacts/%ff`:
   * `id`), for a problem's pointer; null where no route with a parameter there has the path.
   */
  paramAt(path: string): string | null {
    const segments = path.split('/');
    const bad = segments.findIndex((x) => {
      try {
        decodeURIComponent(x);
        return false;
      } catch {
        return true;
      }
    });
    if (bad < 0) return null;
    for (const r of this.routes) {
      const parts = r.path.split('/');
      if (parts.length !== segments.length || !pathPattern(r.path).test(path)) continue;
      const part = parts[bad];
      if (part?.startsWith(':')) return part.slice(1);
    }
    return null;
  }

  /** Mounts each route: `middleware(spec)` first (auth, body parsing), then its handler. */
  mount(
    app: { [m in Method]: (path: string, ...h: RequestHandler[]) => unknown },
    middleware: (spec: RouteSpec) => RequestHandler[],
  ): void {
    for (const r of this.routes) app[r.method](r.path, ...middleware(r), wrap(r.handler));
  }
}

const patterns = new Map<string, RegExp>();
/** A route's path template as a pattern of whole request paths (`:name` is one segment). */
function pathPattern(template: string): RegExp {
  let p = patterns.get(template);
  if (p === undefined) {
    const body = template
      .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    p = new RegExp(`^${body}/?$`, 'i');
    patterns.set(template, p);
  }
  return p;
}

/** Express 5 passes a rejected promise to the error handler; a sync throw too. */
const wrap =
  (h: RequestHandler): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) => {
    try {
      const r = h(req, res, next) as unknown;
      if (r instanceof Promise) r.catch(next);
    } catch (err) {
      next(err);
    }
  };

/** A schema as OpenAPI's JSON Schema (the input form: what a client sends). */
export const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
