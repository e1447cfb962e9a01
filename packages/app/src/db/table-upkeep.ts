import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { Conn, UpkeepMode } from './connection.js';

/**
 * When a table is looked after. Vacuumed by autovacuum's default (50 + 20 % of its rows dead), at
 * most once in `VACUUM_GAP_MS` (autovacuum visits a database at most once a minute; a VACUUM scans
 * every index of the table, 175 ms for `messages` at 19k rows). Analysed once it has 50 changed
 * rows and no statistics, at once, then each time it has doubled, at most once in
 * `ANALYZE_GAP_MS`: what the plans depend on is mostly how big the tables are, and PostgreSQL
 * scales a table's statistics to its current size (autovacuum's 10 % of changes analysed the
 * queues every second or two, an update counting as a change).
 */
const VACUUM = { base: 50, scale: 0.2 };
const ANALYZE_FIRST = 50;
const VACUUM_GAP_MS = 30_000;
const ANALYZE_GAP_MS = 10_000;

export interface UpkeepTable {
  name: string;
  /** Rows as of the last analysis (`null`: never analysed). */
  rows: number | null;
  live: number;
  changed: number;
  dead: number;
}

/** What a table needs by its counters (whether it is time yet is the caller's). */
export function upkeepOf(t: UpkeepTable): { vacuum: boolean; analyze: boolean } {
  return {
    vacuum: t.dead > VACUUM.base + VACUUM.scale * (t.rows ?? 0),
    analyze: t.rows === null ? t.changed > ANALYZE_FIRST : t.live > ANALYZE_FIRST + 2 * t.rows,
  };
}

/**
 * PostgreSQL's autovacuum, for Signalbox's own tables, where the server's is off. The queues
 * (inbox, timers, attempts, messages, receipts) churn: every event, send and receipt leaves dead
 * rows behind, and the tables grow from nothing. Without ANALYZE a table has no statistics and
 * the plans PostgreSQL caches for the named statements stay those made when it was empty (a
 * receipt batch hashed every receipt ever logged, a batch of attempts walked every attempt of the
 * provider); without VACUUM the pending indexes' heads fill with dead entries every poll walks.
 *
 * A round looks at the tables' counters (one read of `pg_stat_user_tables`, cheap) and runs
 * `VACUUM`, `ANALYZE` or both where a table needs it (see the thresholds above), in the
 * background: the worker's round does not wait for it. `SKIP_LOCKED`: a table another instance is
 * already looking after is left to it. `PG_UPKEEP=on` does it even with autovacuum on, `off` never.
 */
export class TableUpkeep {
  private active: boolean | null = null;
  private running: Promise<void> | null = null;
  private done = 0;
  /** When this instance last vacuumed, and analysed, each table. */
  private readonly vacuumed = new Map<string, number>();
  private readonly analysed = new Map<string, number>();

  constructor(
    private readonly c: Conn,
    private readonly mode: UpkeepMode,
    private readonly log?: Logger,
  ) {}

  /** Starts a round unless one is running; how many tables the rounds finished since the last call looked after. */
  run(): Promise<number> {
    if (this.c.dialect !== 'postgres' || this.mode === 'off' || this.active === false) return Promise.resolve(0);
    if (this.running === null) {
      this.running = this.round()
        .then(
          () => undefined,
          (err: unknown) => this.log?.warn({ err: (err as Error).message }, 'table upkeep failed; the next round tries again'),
        )
        .finally(() => {
          this.running = null;
        });
    }
    const n = this.done;
    this.done = 0;
    return Promise.resolve(n);
  }

  /** Waits for the round under way (shutdown, tests). */
  async settled(): Promise<void> {
    await this.running;
  }

  /** One round, awaited: the tables it looked after. */
  async round(): Promise<string[]> {
    if (this.active === null) this.active = await this.needed();
    if (!this.active) return [];
    const tables = await this.tables();
    const looked: string[] = [];
    for (const t of tables) {
      const need = upkeepOf(t);
      const now = Date.now();
      const vacuum = need.vacuum && now - (this.vacuumed.get(t.name) ?? Number.NEGATIVE_INFINITY) >= VACUUM_GAP_MS;
      // a first analysis does not wait: until it, every plan on the table is a guess
      const analyze = need.analyze && (t.rows === null || now - (this.analysed.get(t.name) ?? Number.NEGATIVE_INFINITY) >= ANALYZE_GAP_MS);
      if (!vacuum && !analyze) continue;
      const started = performance.now();
      const table = sql.table(t.name);
      if (vacuum && analyze) await sql`vacuum (analyze, skip_locked, truncate false) ${table}`.execute(this.c.db);
      else if (vacuum) await sql`vacuum (skip_locked, truncate false) ${table}`.execute(this.c.db);
      else await sql`analyze (skip_locked) ${table}`.execute(this.c.db);
      if (vacuum) this.vacuumed.set(t.name, now);
      if (analyze) this.analysed.set(t.name, now);
      this.log?.debug({ table: t.name, vacuum, analyze, ms: Math.round(performance.now() - started) }, 'table upkeep');
      looked.push(t.name);
    }
    this.done += looked.length;
    return looked;
  }

  private async needed(): Promise<boolean> {
    if (this.mode === 'on') return true;
    const r = await sql<{ autovacuum: string; counts: string }>`
      select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as counts`.execute(this.c.db);
    const s = r.rows[0];
    // without track_counts there are no counters to go by (and autovacuum does nothing either)
    const needed = s?.autovacuum === 'off' && s.counts === 'on';
    if (needed)
      this.log?.info('autovacuum is off on this server: Signalbox analyzes and vacuums its own tables (PG_UPKEEP=off leaves them alone)');
    return needed;
  }

  private async tables(): Promise<UpkeepTable[]> {
    const r = await sql<{ name: string; rows: number; live: string; changed: string; dead: string }>`
      select s.relname as name, c.reltuples::float8 as rows, s.n_live_tup as live,
             s.n_mod_since_analyze as changed, s.n_dead_tup as dead
      from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where s.schemaname = current_schema()
      order by s.relname`.execute(this.c.db);
    return r.rows.map((x) => ({
      name: x.name,
      // -1: never analysed (nor vacuumed)
      rows: Number(x.rows) < 0 ? null : Number(x.rows),
      live: Number(x.live),
      changed: Number(x.changed),
      dead: Number(x.dead),
    }));
  }
}
