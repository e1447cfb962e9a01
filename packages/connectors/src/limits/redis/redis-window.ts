import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Rate, RequestWindow } from '../limiters.js';
import { runScript } from './scripts.js';

/**
 * A request may start when fewer than `max` requests have completed within the last `intervalMs`
 * or are still in flight (a sorted set: member per request, score = its completion on Redis's
 * clock, or `now + lease` while it is in flight). Every request that can arrive in the same
 * `intervalMs` as this one is in the set when it is admitted, so none of the instances sharing
 * the key can put more than `max` arrivals in any window, whatever their latency.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - interval)
local n = redis.call('ZCARD', KEYS[1])
if n < max then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], interval + lease)
  return 0
end
local blocking = tonumber(redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')[2])
if blocking > now then return -1 end
return blocking + interval - now + 1
`;

/**
 * The request is done: its completion is now on Redis's clock, rounded up (admissions round down),
 * so it is never earlier than the real one.
 */
const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + 1
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
`;

/** How long a request counts as in flight when nobody says it finished (its instance died). */
const LEASE_MS = 60_000;
/** How often a request waiting behind requests still in flight looks again. */
const POLL_MS = 50;

/** The RequestWindow of one id, shared through Redis by every instance using the same key. */
export class RedisWindow implements RequestWindow {
  /** acquisitions of this process go one at a time, in order (one of them polls Redis, not all) */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    public limit: Rate,
  ) {}

  acquire(): Promise<() => void> {
    const member = randomUUID();
    const turn = this.queue.then(async () => {
      for (;;) {
        const wait = Number(await runScript(this.client, ACQUIRE, [this.key], [this.limit.max, this.limit.intervalMs, member, LEASE_MS]));
        if (wait === 0) return;
        await sleep(wait < 0 ? POLL_MS : Math.min(wait, 1000));
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn.then(() => () => {
      runScript(this.client, RELEASE, [this.key], [member]).catch(() => undefined);
    });
  }
}
