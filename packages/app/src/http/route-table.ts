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
  /** Answers other than problems (status → description). */
  responses: Record<number, string>;
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

  /** Mounts each route: `middleware(spec)` first (auth, body parsing), then its handler. */
  mount(
    app: { [m in Method]: (path: string, ...h: RequestHandler[]) => unknown },
    middleware: (spec: RouteSpec) => RequestHandler[],
  ): void {
    for (const r of this.routes) app[r.method](r.path, ...middleware(r), wrap(r.handler));
  }
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
