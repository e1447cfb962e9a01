import express, { type RequestHandler } from 'express';
import { assertJsonType, parseJsonBody } from './json-body.js';

/**
 * A JSON body: read raw (up to `limit`), then refused with a clear problem when it is not JSON,
 * not sent as JSON, or nested too deep — before any parser recurses into it.
 */
export function jsonBody(limit: string): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit });
  return [
    raw,
    (req, _res, next) => {
      try {
        const buf = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (buf.length === 0 && req.headers['content-type'] === undefined) {
          req.body = undefined;
          next();
          return;
        }
        assertJsonType(req.headers['content-type']);
        req.body = parseJsonBody(buf);
        next();
      } catch (err) {
        next(err);
      }
    },
  ];
}

/** The body as it came (signatures cover the exact bytes): a Buffer in `req.body`. */
export function rawBody(limit: string | number): RequestHandler {
  return express.raw({ type: () => true, limit });
}
