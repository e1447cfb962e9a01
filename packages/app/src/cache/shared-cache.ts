import { createKeyv } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from '../logger.js';

/**
 * A keyv cache for what instances must agree on but need not keep (entries expire): on Redis,
 * shared by every instance, with REDIS_URL; in this process otherwise (the embedded profile is
 * one process). Durable things (tokens, cursors, seen signatures) live in the store instead.
 */
export function sharedCache(o: { redis?: { url: string; prefix: string } | undefined; namespace: string; log: Logger }): Keyv {
  const cache =
    o.redis === undefined
      ? new Keyv({ namespace: o.namespace })
      : // commands fail at once while Redis is away, rather than wait in node-redis's queue
        createKeyv(
          { url: o.redis.url, disableOfflineQueue: true },
          { namespace: `${o.redis.prefix}${o.namespace}`, throwOnErrors: true, connectionTimeout: 5_000 },
        );
  // a failed read or write rejects where it is made (callers answer 503); the event is only logged
  cache.on('error', (err: unknown) => o.log.warn({ err: (err as Error).message, cache: o.namespace }, 'cache'));
  return cache;
}
