import type pg from 'pg';

/**
 * A statement's answer has a deadline. A database that stops answering without closing the
 * connection (a network partition, a hung server or failover) would otherwise hold every request
 * and every worker round on it for as long as TCP takes to give up (many minutes). A statement
 * unanswered past the deadline has its connection ended: the statement fails ("Connection
 * terminated", a connection loss: 503), the pool drops the client and opens another when needed.
 *
 * A watchdog looks at the pool's clients every so often, so a statement pays nothing for it (a
 * timer and a promise race per statement doubled the event → send latency at 50 events/s).
 * Maintenance statements that may rightly take long (VACUUM, ANALYZE, index builds) have none;
 * `ms` 0 means none at all (migrations run before it is set).
 */
const MAINTENANCE = /^\s*(vacuum|analyze|create\s+(unique\s+)?index|reindex|cluster)\b/i;

export interface Deadline {
  ms: number;
}

/** What the watchdog reads of a pg client (pg-pool reads `_queryable` and `_ending` the same way). */
interface Watched {
  _activeQuery?: { text?: unknown } | null;
  _ending?: boolean;
  end(): Promise<void>;
  on(event: 'end', listener: () => void): unknown;
}

export class DeadlineWatch {
  private readonly clients = new Map<Watched, { query: unknown; since: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly deadline: Deadline,
    private readonly onExpired: (err: Error) => void = () => undefined,
  ) {}

  /** The pool's client class: every client it opens is watched until it ends. */
  clientClass(Base: typeof pg.Client): typeof pg.Client {
    const watch = this;
    return class DeadlineClient extends Base {
      // biome-ignore lint/suspicious/noExplicitAny: pg.Client's constructor takes its config as it is
      constructor(config?: any) {
        super(config);
        // a connection lost while a statement is under way fails that statement, and the pool hears
        // it while idle; an 'error' event with no listener while checked out would end the process
        this.on('error', () => undefined);
        watch.add(this as unknown as Watched);
      }
    } as typeof pg.Client;
  }

  private add(c: Watched): void {
    this.clients.set(c, { query: null, since: 0 });
    c.on('end', () => this.clients.delete(c));
    if (this.timer === null) {
      this.timer = setInterval(() => this.check(Date.now()), 250);
      this.timer.unref();
    }
  }

  /** Ends the clients whose statement under way has waited past the deadline (exported for its test). */
  check(now: number): void {
    const ms = this.deadline.ms;
    for (const [c, seen] of this.clients) {
      const q = c._activeQuery ?? null;
      if (q === null || c._ending === true) {
        seen.query = null;
        continue;
      }
      if (q !== seen.query) {
        seen.query = q;
        seen.since = now;
        continue;
      }
      if (ms <= 0 || now - seen.since < ms) continue;
      if (typeof q.text === 'string' && MAINTENANCE.test(q.text)) continue;
      this.clients.delete(c);
      this.onExpired(new Error(`a statement had no answer from the database in ${ms} ms: its connection was ended`));
      c.end().catch(() => undefined);
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
