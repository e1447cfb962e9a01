import { SignalboxError } from '@signalbox/engine';
import type { ErrorRequestHandler, Response } from 'express';
import { DATABASE_UNAVAILABLE, isConnectionLoss } from '../db/connection-loss.js';
import type { Logger } from '../logger.js';
import { isJsonText } from './json-body.js';

/** RFC 9457 problem details with our stable code and the exact JSON paths at fault. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: Array<{ path: string; message: string }>;
  correlationId?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  428: 'Precondition required',
  429: 'Too many requests',
  431: 'Request header fields too large',
  500: 'Internal error',
  503: 'Service unavailable',
};

export const titleOf = (status: number): string => TITLES[status] ?? (status >= 500 ? 'Error' : 'Bad request');

export function problemBody(p: Omit<ProblemBody, 'type' | 'title'> & { title?: string }): ProblemBody {
  return { type: `https://signalbox.dev/problems/${p.code.toLowerCase().replace(/_/g, '-')}`, title: p.title ?? titleOf(p.status), ...p };
}

/** body-parser's other refusals, each with a stable code (zlib's and body-parser's words are not ours to pass on). */
const BODY_PROBLEMS: Record<string, { status: number; detail: string; code: string }> = {
  compressed: { status: 400, detail: 'the body is not valid for its Content-Encoding', code: 'BODY_NOT_DECODABLE' },
  'encoding.unsupported': {
    status: 415,
    detail: 'this Content-Encoding is not accepted (gzip, deflate, br or identity)',
    code: 'ENCODING_UNSUPPORTED',
  },
  'charset.unsupported': { status: 415, detail: 'this charset is not accepted (send UTF-8)', code: 'CHARSET_UNSUPPORTED' },
  'request.aborted': { status: 400, detail: 'the request was aborted before its body ended', code: 'BODY_ABORTED' },
  'request.size.invalid': { status: 400, detail: 'the body does not have the length Content-Length says', code: 'BODY_LENGTH_MISMATCH' },
};

/** A coded error as problem+json (any other error becomes a 500 with a correlation id only). */
export function problemOf(
  err: unknown,
  log: Logger,
  where: { method: string; path: string /** the route parameter an undecodable segment stands for */; param?: string | null },
): ProblemBody {
  if (err instanceof SignalboxError)
    return problemBody({
      status: err.status,
      detail: err.message,
      code: err.code,
      ...(err.problems.length > 0 ? { errors: err.problems } : {}),
    });
  // body-parser's own errors carry a status and a type
  const e = err as { status?: number; type?: string; message?: string; code?: unknown };
  if (e.type === 'entity.too.large')
    return problemBody({ status: 413, detail: 'the body is larger than this endpoint accepts', code: 'BODY_TOO_LARGE' });
  if (e.type === 'entity.parse.failed' && isJsonText((err as { body?: unknown }).body))
    // express.json is strict: `null` or `42` is JSON, just not a body we take
    return problemBody({
      status: 400,
      detail: 'the body must be a JSON object or array',
      code: 'BODY_NOT_JSON',
      errors: [{ path: '', message: 'expected an object or an array' }],
    });
  if (e.type === 'entity.parse.failed')
    return problemBody({
      status: 400,
      detail: 'the body is not valid JSON',
      code: 'BODY_NOT_JSON',
      errors: [{ path: '', message: 'not valid JSON' }],
    });
  const known =
    BODY_PROBLEMS[e.type ?? ''] ??
    // zlib's codes (gzip, deflate: Z_DATA_ERROR) and brotli's (ERR__ERROR_FORMAT_…)
    (typeof e.code === 'string' && (e.code.startsWith('Z_') || e.code.startsWith('ERR__ERROR_')) ? BODY_PROBLEMS.compressed : undefined);
  if (known !== undefined) return problemBody(known);
  if (err instanceof URIError && e.status === 400)
    // the router could not decode a part of the path (`/contacts/%ff`): the request names nothing
    return problemBody({
      status: 400,
      detail: 'a part of the path is not valid percent-encoded UTF-8',
      code: 'PATH_NOT_DECODABLE',
      errors: [
        { path: where.param ? `/path/${where.param}` : '/path', message: `${badSegment(where.path) ?? 'a segment'} cannot be decoded` },
      ],
    });
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return problemBody({ status: e.status, detail: e.message ?? 'bad request', code: 'BAD_REQUEST' });
  if (isConnectionLoss(err)) {
    log.warn({ err: (err as Error).message, method: where.method, path: where.path }, 'database unavailable');
    return problemBody({ status: 503, detail: DATABASE_UNAVAILABLE, code: 'DATABASE_UNAVAILABLE' });
  }
  const correlationId = crypto.randomUUID();
  log.error({ err, correlationId, method: where.method, path: where.path }, 'unhandled error');
  return problemBody({ status: 500, detail: 'something went wrong on our side', code: 'INTERNAL', correlationId });
}

/** The first segment of a path that does not decode, quoted (at most 60 characters of it). */
function badSegment(path: string): string | null {
  for (const segment of path.split('/'))
    try {
      decodeURIComponent(segment);
    } catch {
      return JSON.stringify(segment.slice(0, 60));
    }
  return null;
}

export function sendProblem(res: Response, p: ProblemBody): void {
  res.status(p.status).type('application/problem+json').send(JSON.stringify(p));
}

/**
 * Maps every error to problem+json: coded errors keep their code and status. `paramAt` names the
 * route parameter a path's undecodable segment stands for (the route table's).
 */
export function problemHandler(log: Logger, paramAt?: (path: string) => string | null): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const param = err instanceof URIError && paramAt !== undefined ? paramAt(req.path) : null;
    sendProblem(res, problemOf(err, log, { method: req.method, path: req.path, param }));
  };
}
