import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { Conn, UpkeepMode } from './connection.js';
import type { Database } from './schema.js';

/**
 * When a table is looked after. Vacuumed by autovacuum's default (50 + 20 % of its rows dead), at
 * most once in `VACUUM_GAP_MS` (autovacuum visits a database at most once a minute; a VACUUM scans
 * every index of the table, 175 ms for `messages` at 19k rows). Analysed once it has 50 changed
 * rows and no statistics, at once, then each time it has doubled since (as this instance last
 * analysed it, or as the server last counted it), at most once in `ANALYZE_GAP_MS`: what the plans
 * depend on is mostly how big the tables are, and PostgreSQL scales a table's statistics to its
 * current size (autovacuum's 10 % of changes analysed the queues every second or two, an update
 * counting as a change). A table whose upkeep failed waits `FAILED_GAP_MS` before the next try.
 */
const VACUUM = { base: 50, scale: 0.2 };
const ANALYZE_FIRST = 50;
const VACUUM_GAP_MS = 30_000;
const ANALYZE_GAP_MS = 10_000;
const FAILED_GAP_MS = 60_000;
/**
 * The statistics target of the rounds' ANALYZE (the server's default is 100): a sample of 3,000
 * rows, not 30,000, and 10 most common values and histogram buckets a column. What the plans
 * depend on is how big the tables are and how few rows a key finds, which that sample tells as
 * well; an ANALYZE of the nine hot tables at ~20k rows each went from 666 to 113 ms of the server's
 * CPU, and at 500 events/s on the 2-core machine each such burst had shown as a second or two of
 * p50 two to three times its usual (the tables grow from nothing: each is analysed as it doubles).
 * A column given a target of its own keeps it.
 */
const STATISTICS_TARGET = 10;
/** One instance's round at a time (a session-level advisory lock on the round's own connection). */
const ROUND_LOCK = 'signalbox.table-upkeep';

/** Signalbox's own tables, and only those (the schema may hold others'); the type keeps the list complete. */
const OWN_TABLES: Record<keyof Database, true> = {
  contacts: true,
  identities: true,
  identity_conflicts: true,
  consent_ledger: true,
  contact_events: true,
  inbox: true,
  messages: true,
  attempts: true,
  receipts: true,
  pending_receipts: true,
  journey_instances: true,
  timers: true,
  idempotency: true,
  rule_versions: true,
  rule_active: true,
  rule_drafts: true,
  dry_runs: true,
  audit_log: true,
  sandbox_sends: true,
  crm_portals: true,
  crm_sync: true,
  crm_writebacks: true,
  crm_callbacks: true,
  seen_signatures: true,
  crm_replay: true,
  message_decisions: true,
};

export interface UpkeepTable {
  name: string;
  /** Rows when it was last analysed (`null`: never analysed). */
  rows: number | null;
  live: number;
  changed: number;
  dead: number;
  /** When the server last vacuumed and analysed it (any instance, or autovacuum; ms), if ever. */
  vacuumedAt?: number | null;
  analysedAt?: number | null;
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
 * background: the worker's round does not wait for it. Only tables this role may vacuum (it owns
 * them) are looked at. A round runs on a connection of its own, without a statement timeout, under
 * an advisory lock: one instance's round at a time; a table whose upkeep fails is left for a while
 * and the round goes on. `PG_UPKEEP=on` does it even with autovacuum on, `off` never.
 */
export class TableUpkeep {
  private active: boolean | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private done = 0;
  /** When this instance last tried to vacuum, and to analyse, each table. */
  private readonly vacuumed = new Map<string, number>();
  private readonly analysed = new Map<string, number>();
  /** Live rows when this instance last analysed each table (VACUUM moves the server's own count). */
  private readonly analysedRows = new Map<string, number>();
  /** When a table's upkeep last failed (left alone for `FAILED_GAP_MS`). */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly c: Conn,
    private readonly mode: UpkeepMode,
    private readonly log?: Logger,
  ) {}

  /** Starts a round unless one is running; how many tables the rounds finished since the last call looked after. */
  run(): Promise<number> {
    if (this.c.dialect !== 'postgres' || this.mode === 'off' || this.active === false || this.stopped) return Promise.resolve(0);
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

  /** Starts no more rounds, and the round under way stops after its current table; resolves when it has. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Waits for the round under way (tests). */
  async settled(): Promise<void> {
    await this.running;
  }

  /** One round, awaited: the tables it looked after. */
  async round(): Promise<string[]> {
    if (this.active === null) this.active = await this.needed();
    if (!this.active || this.stopped) return [];
    return this.c.db.connection().execute(async (db) => {
      const locked = await sql<{ ok: boolean }>`select pg_try_advisory_lock(hashtext(${ROUND_LOCK})) as ok`.execute(db);
      if (locked.rows[0]?.ok !== true) return [];
      try {
        await sql`set statement_timeout = 0`.execute(db);
        await sql`set default_statistics_target = ${sql.lit(STATISTICS_TARGET)}`.execute(db);
        const looked: string[] = [];
        for (const t of await this.tables(db)) {
          if (this.stopped) break;
          if (await this.lookAfter(db, t)) looked.push(t.name);
        }
        this.done += looked.length;
        return looked;
      } finally {
        await sql`reset statement_timeout`.execute(db);
        await sql`reset default_statistics_target`.execute(db);
        await sql`select pg_advisory_unlock(hashtext(${ROUND_LOCK}))`.execute(db);
      }
    });
  }

  /** Vacuums, analyses or both if the table needs it and it is time; whether it did. */
  private async lookAfter(db: Conn['db'], t: UpkeepTable): Promise<boolean> {
    const now = Date.now();
    const failedAt = this.failedAt.get(t.name);
    if (failedAt !== undefined && now - failedAt < FAILED_GAP_MS) return false;
    const analysedAt = this.analysedRows.get(t.name);
    const need = upkeepOf(analysedAt === undefined || t.rows === null ? t : { ...t, rows: analysedAt });
    // the gaps hold across instances (the server says when any of them last did it): a table whose
    // dead rows a long transaction elsewhere still holds is not vacuumed again by every instance's round
    const last = (mine: number | undefined, server: number | null | undefined) =>
      Math.max(mine ?? Number.NEGATIVE_INFINITY, server ?? Number.NEGATIVE_INFINITY);
    const vacuum = need.vacuum && now - last(this.vacuumed.get(t.name), t.vacuumedAt) >= VACUUM_GAP_MS;
    // a first analysis does not wait for the gap: until it, every plan on the table is a guess
    const analyze = need.analyze && (t.rows === null || now - last(this.analysed.get(t.name), t.analysedAt) >= ANALYZE_GAP_MS);
    if (!vacuum && !analyze) return false;
    if (vacuum) this.vacuumed.set(t.name, now);
    if (analyze) this.analysed.set(t.name, now);
    const table = sql.id(t.name);
    const started = performance.now();
    try {
      if (vacuum && analyze) await sql`vacuum (analyze, skip_locked, truncate false) ${table}`.execute(db);
      else if (vacuum) await sql`vacuum (skip_locked, truncate false) ${table}`.execute(db);
      else await sql`analyze (skip_locked) ${table}`.execute(db);
    } catch (err) {
      // left for a while (a statement it cannot finish is not started again every round), and the round goes on
      this.failedAt.set(t.name, now);
      this.log?.warn({ table: t.name, err: (err as Error).message }, 'table upkeep failed for a table; it is left for a minute');
      return false;
    }
    this.failedAt.delete(t.name);
    if (analyze) this.analysedRows.set(t.name, t.live);
    this.log?.debug({ table: t.name, vacuum, analyze, ms: Math.round(performance.now() - started) }, 'table upkeep');
    return true;
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

  /** Signalbox's tables in this schema that this role may vacuum, with their counters. */
  private async tables(db: Conn['db']): Promise<UpkeepTable[]> {
    const r = await sql<{
      name: string;
      analysed: boolean;
      rows: number;
      live: string;
      changed: string;
      dead: string;
      vacuumed_at: number | null;
      analysed_at: number | null;
    }>`
      select s.relname as name, (s.last_analyze is not null or s.last_autoanalyze is not null) as analysed,
             greatest(c.reltuples, 0)::float8 as rows, s.n_live_tup as live,
             s.n_mod_since_analyze as changed, s.n_dead_tup as dead,
             (extract(epoch from greatest(s.last_vacuum, s.last_autovacuum)) * 1000)::float8 as vacuumed_at,
             (extract(epoch from greatest(s.last_analyze, s.last_autoanalyze)) * 1000)::float8 as analysed_at
      from pg_stat_user_tables s join pg_class c on c.oid = s.relid
      where s.schemaname = current_schema() and s.relname = any(${Object.keys(OWN_TABLES)}::text[])
        and pg_has_role(c.relowner, 'USAGE')
      order by s.relname`.execute(db);
    return r.rows.map((x) => ({
      name: x.name,
      rows: x.analysed ? Number(x.rows) : null,
      live: Number(x.live),
      changed: Number(x.changed),
      dead: Number(x.dead),
      vacuumedAt: x.vacuumed_at === null ? null : Number(x.vacuumed_at),
      analysedAt: x.analysed_at === null ? null : Number(x.analysed_at),
    }));
  }
}
