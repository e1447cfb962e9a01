/**
 * Errors that say the database could not be reached or its connection was lost (not that a
 * statement was wrong): the server went away, refused, restarted, was failed over, terminated
 * the session, had no connection slot left, or did not answer in time. A request that meets
 * one is answered 503 DATABASE_UNAVAILABLE (retry later), never a 500.
 */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SQLSTATE: connection exceptions (08…), admin/crash shutdown, cannot connect now, too many connections. */
const SQLSTATE = /^(08...|57P01|57P02|57P03|53300)$/;
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  // pg.Client's own connect timeout (the migration lock's connection)
  'timeout expired',
  'Query read timeout',
  'is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

export function isConnectionLoss(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | null, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && (NETWORK.has(e.code) || SQLSTATE.test(e.code))) return true;
    const message = e.message;
    if (typeof message === 'string' && MESSAGES.some((m) => message.includes(m))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

export const DATABASE_UNAVAILABLE = 'the database is not reachable just now: retry in a few seconds';
