import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { problemOf } from './problem.js';

/**
 * A route served from Node's request before Express sees it, for the common case of a hot path:
 * `take` returns true having taken the request, or false having read nothing (Express then answers
 * it exactly as before). Both share one implementation; tests compare their answers.
 */
export interface FastPath {
  take(req: IncomingMessage, res: ServerResponse): boolean;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;\s*charset="?utf-8"?\s*)?$/i;

/** A header's one value. */
export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Whether the request is one a fast path may take: JSON in UTF-8, no content encoding, a
 * Content-Length within `limit`.
 */
export function plainJson(req: IncomingMessage, limit: number): boolean {
  const type = header(req, 'content-type');
  if (type === undefined || !JSON_TYPE.test(type)) return false;
  const encoding = header(req, 'content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const length = Number(header(req, 'content-length'));
  return header(req, 'content-length') !== undefined && Number.isSafeInteger(length) && length <= limit;
}

/** A fast path's answer: JSON, or text of a type (an XML acknowledgement). */
export type FastAnswer = { status: number; body: unknown } | { status: number; type: string; text: string };

/** Reads the body (it is within the limit: Content-Length said so) and runs `handle`; errors become problem+json. */
export function takeBody(
  req: IncomingMessage,
  res: ServerResponse,
  o: { limit: number; route: string; metrics: Metrics; log: Logger },
  handle: (body: Buffer) => Promise<FastAnswer>,
): void {
  const t0 = performance.now();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    // more than the declared length: the client is not speaking HTTP as it said
    if (size > o.limit) req.destroy();
    else chunks.push(c);
  });
  req.on('error', () => req.destroy());
  req.on('end', () => {
    const send = (status: number, type: string, body: string) => {
      o.metrics.httpRequests.inc({ route: o.route, method: 'POST', status: String(status) });
      o.metrics.httpDuration.observe({ route: o.route, method: 'POST' }, (performance.now() - t0) / 1000);
      res.writeHead(status, {
        'content-type': `${type}; charset=utf-8`,
        'content-length': Buffer.byteLength(body),
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    };
    handle(Buffer.concat(chunks)).then(
      (r) => ('text' in r ? send(r.status, r.type, r.text) : send(r.status, 'application/json', JSON.stringify(r.body))),
      (err: unknown) => {
        const p = problemOf(err, o.log, { method: 'POST', path: o.route });
        send(p.status, 'application/problem+json', JSON.stringify(p));
      },
    );
  });
}

/** A size such as Express takes for body limits ('256kb', '1mb', '1000'), in bytes. */
export function byteLimit(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(s);
  if (m === null) throw new Error(`not a size: ${JSON.stringify(s)} (e.g. 256kb, 1mb)`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}
