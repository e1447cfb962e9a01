import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Role } from '../config.js';
import type { Logger } from '../logger.js';
import type { HotWrites } from '../runtime/hot-writes.js';
import { InboxWriter } from '../store/inbox-writer.js';
import type { Principal } from './auth.js';
import type { Metrics } from './metrics.js';
import { HttpProblem, problemBody } from './problem.js';
import { eventsBody } from './routes/runtime-api.js';
import { parseBody } from './validate.js';

export const INGEST_PATH = '/api/v1/events';
/** Who may post events (the Express route's key check takes the same list). */
export const INGEST_ROLES: readonly Role[] = ['admin', 'integration'];

/** POST /api/v1/events, as an Express route and as a Node-level fast path ahead of Express. */
export interface Ingest {
  /** The route (after express.json and the key check): the rare requests the fast path hands over. */
  express: RequestHandler;
  /**
   * Takes the common request before Express sees it and returns true; returns false, having read
   * nothing, for anything else (another route, no or a bad key, another content type or encoding,
   * no Content-Length or one over the limit), which Express then answers as before.
   */
  raw(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * The hot path: every event a CRM workflow or integration fires. Express costs several times the
 * work of the endpoint itself here (measured: the same durable write answered 2,000 req/s through
 * Express, 8,400 without), so the common case is served straight from Node's request: key checked
 * from the headers before the body is read, the body read up to its declared length, parsed,
 * validated with the same schema, durable in the inbox (group commit) before the 202.
 */
export function createIngest(d: {
  writes: HotWrites;
  metrics: Metrics;
  now: () => number;
  /** The key check the API uses (auth.ts): the principal for these headers, if any. */
  principal: (header: (name: string) => string | undefined) => Principal | null | undefined;
  bodyLimit: number;
  onWork: () => void;
  log: Logger;
}): Ingest {
  const inbox = new InboxWriter(d.writes);

  async function accept(body: unknown): Promise<{ accepted: number; duplicates: number }> {
    const t0 = process.hrtime.bigint();
    const parsed = parseBody(eventsBody, body);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const batch = await inbox.accept(
      list.map((e) => ({ source: 'api', eventId: e.id, type: e.type, payload: { ...e, source: 'api' } })),
      d.now(),
    );
    d.metrics.eventsIngested.inc({ source: 'api', duplicate: 'false' }, batch.accepted);
    d.metrics.eventsIngested.inc({ source: 'api', duplicate: 'true' }, batch.duplicates);
    d.metrics.ingestLatency.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    d.onWork();
    return batch;
  }

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    d.metrics.httpRequests.inc({ route: INGEST_PATH, status: String(status) });
    res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handles = (req: IncomingMessage): boolean => {
    if (req.method !== 'POST' || req.url !== INGEST_PATH) return false;
    const h = req.headers;
    const type = h['content-type'];
    if (type === undefined || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;\s*charset="?utf-8"?\s*)?$/i.test(type)) return false;
    if (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity') return false;
    const length = Number(h['content-length']);
    if (h['content-length'] === undefined || !Number.isSafeInteger(length) || length > d.bodyLimit) return false;
    const who = d.principal((name) => {
      const v = h[name];
      return Array.isArray(v) ? v[0] : v;
    });
    return who !== null && who !== undefined && INGEST_ROLES.includes(who.role);
  };

  return {
    express: async (req, res) => {
      res.status(202).json(await accept(req.body));
    },
    raw(req, res) {
      if (!handles(req)) return false;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        // more than the declared length: the client is not speaking HTTP as it said
        if (size > d.bodyLimit) req.destroy();
        else chunks.push(c);
      });
      req.on('error', () => req.destroy());
      req.on('end', () => {
        void (async () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              // strict, as express.json: an object or an array
              if (!/^\s*[[{]/.test(text)) throw new SyntaxError('not an object or array');
              body = JSON.parse(text);
            } catch {
              throw new HttpProblem(400, 'BODY_NOT_JSON', 'Bad request', 'the body is not valid JSON', [
                { path: '', message: 'not valid JSON' },
              ]);
            }
            send(res, 202, 'application/json', JSON.stringify(await accept(body)));
          } catch (err) {
            if (!(err instanceof HttpProblem)) throw err;
            send(
              res,
              err.status,
              'application/problem+json',
              JSON.stringify(
                problemBody({ title: err.title, status: err.status, detail: err.message, code: err.code, errors: err.errors }),
              ),
            );
          }
        })().catch((err: unknown) => {
          const correlationId = crypto.randomUUID();
          d.log.error({ err, correlationId, method: 'POST', path: INGEST_PATH }, 'unhandled error');
          send(
            res,
            500,
            'application/problem+json',
            JSON.stringify(
              problemBody({
                title: 'Internal error',
                status: 500,
                detail: 'something went wrong on our side',
                code: 'INTERNAL',
                correlationId,
              }),
            ),
          );
        });
      });
      return true;
    },
  };
}

/** A size such as Express takes for body limits ('256kb', '1mb', '1000'), in bytes. */
export function byteLimit(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(s);
  if (m === null) throw new Error(`not a size: ${JSON.stringify(s)} (e.g. 256kb, 1mb)`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}
