import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { type JobOptions, type LimiterSettings, type Limiters, type Rate, type RequestWindow, retune } from '../limiters.js';
import { RedisWindow } from './redis-window.js';

export interface RedisLimitersOptions {
  /**
   * A connected client, not lazy (Bottleneck duplicates it for its subscriber, and waits for the
   * duplicate to connect by itself); the limiters own it from now on (close() quits it).
   */
  client: Redis;
  /** Put before every id (Bottleneck's keys and channels, the windows' keys): one per deployment; tests use their own. */
  prefix: string;
  /**
   * A job running this long is failed and its slot given back: Bottleneck frees a crashed
   * instance's running jobs only when they expire (default 2 minutes; a limiter may ask for more).
   */
  jobExpirationMs?: number;
}

/**
 * Limits shared by every instance on one Redis: Bottleneck's own clustering (`datastore:
 * 'ioredis'`, one connection and its subscriber for every limiter of this process) and
 * RedisWindow for arrivals. A limiter's settings live in Redis under its id: the first instance
 * to create it writes them, and every instance creating it again writes its code's pace
 * (concurrency, spacing, refresh) so a deploy that changes them takes effect; the reservoir left
 * is state and stays as the others left it.
 */
export class RedisLimiters implements Limiters {
  readonly shared = true;
  private readonly connection: Bottleneck.IORedisConnection;
  private readonly limiters = new Map<string, Bottleneck>();
  private readonly windows = new Map<string, RedisWindow>();

  constructor(private readonly o: RedisLimitersOptions) {
    this.connection = new Bottleneck.IORedisConnection({ client: o.client, Redis });
  }

  limiter(id: string, settings: LimiterSettings, jobs: JobOptions = {}): Bottleneck {
    let l = this.limiters.get(id);
    if (l === undefined) {
      l = new Bottleneck({ ...settings, id: `${this.o.prefix}${id}`, datastore: 'ioredis', connection: this.connection });
      // Bottleneck reads a job's defaults from its instance (not in its typings): every job expires
      const defaults: object = Reflect.get(Bottleneck.prototype, 'jobDefaults');
      Object.defineProperty(l, 'jobDefaults', {
        value: { ...defaults, expiration: jobs.expirationMs ?? this.o.jobExpirationMs ?? 120_000 },
      });
      // the code's pace wins over what an older deploy stored; the reservoir is state, not a setting
      const { reservoir: _state, ...pace } = settings;
      void retune(l, pace);
      this.limiters.set(id, l);
    }
    return l;
  }

  window(id: string, limit: Rate): RequestWindow {
    let w = this.windows.get(id);
    if (w === undefined) {
      w = new RedisWindow(this.o.client, `${this.o.prefix}window:${id}`, limit);
      this.windows.set(id, w);
    }
    return w;
  }

  async close(): Promise<void> {
    this.limiters.clear();
    this.windows.clear();
    await this.connection.disconnect(true).catch(() => undefined);
  }
}
