import { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/** How long start-up waits for Redis before it gives up with a clear error (no hang). */
const CONNECT_TIMEOUT_MS = 5_000;

/** Redis could not be reached: start-up stops with this, naming where it looked (never the password). */
export class RedisUnavailableError extends AppError {
  constructor(where: string, why: string) {
    super(503, 'REDIS_UNAVAILABLE', `Redis at ${where} is not reachable: ${why}`);
  }
}

/** The URL as it may be shown: scheme, host, port and database, without credentials. */
export function redisWhere(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/**
 * A connected client, or RedisUnavailableError within `timeoutMs`. Not lazy: Bottleneck's
 * subscriber is a duplicate of it and must connect by itself. Once up, a lost connection is
 * retried in the background (commands wait a little, then fail; readiness says so) and `onError`
 * hears each error.
 */
export function connectRedis(url: string, onError: (message: string) => void, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Redis> {
  const where = redisWhere(url);
  const client = new Redis(url, {
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  return new Promise((resolve, reject) => {
    let last = 'no answer';
    const timer = setTimeout(() => {
      client.disconnect();
      reject(new RedisUnavailableError(where, `${last} (gave up after ${timeoutMs} ms)`));
    }, timeoutMs);
    const noteError = (e: Error) => {
      last = e.message || e.name;
    };
    client.on('error', noteError);
    client.once('ready', () => {
      clearTimeout(timer);
      client.off('error', noteError);
      client.on('error', (e: Error) => onError(e.message || e.name));
      // ioredis selects the URL's database as it connects, and when the server refuses (a number
      // past its `databases`) it says so only as an error event and goes on in database 0: another
      // deployment's keys, perhaps. Selected again here, a refusal stops the start.
      const db = Number(new URL(url).pathname.slice(1) || 0);
      if (!Number.isInteger(db) || db === 0) {
        resolve(client);
        return;
      }
      client.select(db).then(
        () => resolve(client),
        (e: Error) => {
          client.disconnect();
          reject(new RedisUnavailableError(where, `database ${db} cannot be selected there (${e.message})`));
        },
      );
    });
  });
}
