import { SignalboxError } from '@signalbox/engine';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../logger.js';

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

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly errors: Array<{ path: string; message: string }> = [],
  ) {
    super(detail);
  }
}

export function problemBody(p: Omit<ProblemBody, 'type'>): ProblemBody {
  return { type: `https://signalbox.dev/problems/${p.code.toLowerCase().replace(/_/g, '-')}`, ...p };
}

export function sendProblem(res: Response, p: Omit<ProblemBody, 'type'>): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(p)));
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
};

/** Maps every error to problem+json: known errors keep their code; anything else is a 500 with a correlation id only. */
export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof HttpProblem) {
      sendProblem(res, { title: err.title, status: err.status, detail: err.message, code: err.code, errors: err.errors });
      return;
    }
    if (err instanceof SignalboxError) {
      sendProblem(res, {
        title: TITLES[err.status] ?? 'Error',
        status: err.status,
        detail: err.message,
        code: err.code,
        errors: err.problems,
      });
      return;
    }
    // body-parser errors carry a status and a type
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.parse.failed') {
      sendProblem(res, {
        title: 'Bad request',
        status: 400,
        detail: 'the body is not valid JSON',
        code: 'BODY_NOT_JSON',
        errors: [{ path: '', message: 'not valid JSON' }],
      });
      return;
    }
    if (e.type === 'entity.too.large') {
      sendProblem(res, {
        title: 'Payload too large',
        status: 413,
        detail: 'the body is larger than this endpoint accepts',
        code: 'BODY_TOO_LARGE',
      });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      sendProblem(res, {
        title: TITLES[e.status] ?? 'Bad request',
        status: e.status,
        detail: e.message ?? 'bad request',
        code: 'BAD_REQUEST',
      });
      return;
    }
    const correlationId = crypto.randomUUID();
    log.error({ err, correlationId, method: req.method, path: req.path }, 'unhandled error');
    sendProblem(res, { title: 'Internal error', status: 500, detail: 'something went wrong on our side', code: 'INTERNAL', correlationId });
  };
}
