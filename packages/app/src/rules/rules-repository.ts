import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import type { RuleVersionsTable } from '../db/schema.js';

/** A published version as listed (its document only when read one by one). */
export interface VersionInfo {
  number: number;
  label: string;
  hash: string;
  author: string;
  reason: string;
  basedOn: number | null;
  dryRunId: string | null;
  createdAt: number;
}

export interface StoredVersion extends VersionInfo {
  document: unknown;
}

export interface ActivePointer {
  number: number;
  movedBy: string;
  movedAt: number;
}

export interface NewVersion {
  label: string;
  document: unknown;
  hash: string;
  author: string;
  reason: string;
  basedOn: number | null;
  dryRunId: string | null;
}

const info = (r: Omit<RuleVersionsTable, 'document'>): VersionInfo => ({
  number: Number(r.number),
  label: r.label,
  hash: r.hash,
  author: r.author,
  reason: r.reason,
  basedOn: r.based_on === null ? null : Number(r.based_on),
  dryRunId: r.dry_run_id,
  createdAt: Number(r.created_at),
});

const INFO_COLUMNS = ['number', 'label', 'hash', 'author', 'reason', 'based_on', 'dry_run_id', 'created_at'] as const;

/**
 * Published rulesets as immutable, numbered versions, and the pointer to the active one. Versions
 * are only ever added; publish and rollback move the pointer (conditionally: a move based on a
 * pointer that moved meanwhile does nothing, so concurrent publishes cannot both win).
 */
/** The notification channel on which instances hear that the active version moved. */
export const RULES_CHANNEL = 'signalbox_rules';

export class RulesRepository {
  constructor(private readonly c: Conn) {}

  /** The active version's document (as published), if any was ever published. */
  async active(): Promise<unknown | null> {
    const v = await this.activeVersion();
    return v === null ? null : v.document;
  }

  async activeVersion(): Promise<StoredVersion | null> {
    const p = await this.pointer();
    return p === null ? null : this.version(p.number);
  }

  /**
   * Where the active pointer is. `forUpdate` locks it to the end of the transaction (PostgreSQL;
   * SQLite has one writer): a publish reads, appends and moves under the lock, so a second one
   * waits and then sees the first.
   */
  async pointer(forUpdate = false): Promise<ActivePointer | null> {
    const q = this.c.db.selectFrom('rule_active').selectAll().where('id', '=', 1);
    const r = await (forUpdate && this.c.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
    return r === undefined ? null : { number: Number(r.number), movedBy: r.moved_by, movedAt: Number(r.moved_at) };
  }

  async version(n: number): Promise<StoredVersion | null> {
    const r = await this.c.db.selectFrom('rule_versions').selectAll().where('number', '=', n).executeTakeFirst();
    return r === undefined ? null : { ...info(r), document: JSON.parse(r.document) };
  }

  /**
   * Holds off, to the end of the transaction, whoever else is making the first version of this
   * store (PostgreSQL: an advisory lock keyed by the schema; SQLite has one writer). Without it two
   * requests on a fresh database both find no version and both write number 1: one fails.
   */
  async lockFirstVersion(): Promise<void> {
    if (this.c.dialect !== 'postgres') return;
    await sql`select pg_advisory_xact_lock(hashtextextended(current_schema() || ':rules first version', 11))`.execute(this.c.db);
  }

  /** Versions newest first; `before` pages on (the last number of the previous page). */
  async versions(limit: number, before?: number): Promise<VersionInfo[]> {
    let q = this.c.db.selectFrom('rule_versions').select(INFO_COLUMNS);
    if (before !== undefined) q = q.where('number', '<', before);
    const rows = await q.orderBy('number', 'desc').limit(limit).execute();
    return rows.map(info);
  }

  /** Adds a version (numbered one past the last) and returns its number. Call inside the publish's transaction. */
  /** The versions published under a label, with their documents (a label should name one ruleset). */
  async underLabel(label: string): Promise<Array<{ number: number; hash: string; document: unknown }>> {
    const rows = await this.c.db.selectFrom('rule_versions').select(['number', 'hash', 'document']).where('label', '=', label).execute();
    return rows.map((r) => ({ number: Number(r.number), hash: r.hash, document: JSON.parse(r.document) as unknown }));
  }

  async append(v: NewVersion, now: number): Promise<number> {
    const last = await this.c.db
      .selectFrom('rule_versions')
      .select((eb) => eb.fn.max<number>('number').as('n'))
      .executeTakeFirst();
    const number = Number(last?.n ?? 0) + 1;
    await this.c.db
      .insertInto('rule_versions')
      .values({
        number,
        label: v.label,
        document: JSON.stringify(v.document),
        hash: v.hash,
        author: v.author,
        reason: v.reason,
        based_on: v.basedOn,
        dry_run_id: v.dryRunId,
        created_at: now,
      })
      .execute();
    return number;
  }

  /**
   * Moves the active pointer from `expected` (null: there is none yet) to `to`; false when the
   * pointer was not at `expected` (someone else moved it first).
   */
  /**
   * Tells every instance on this database that the active version moved (PostgreSQL NOTIFY, sent
   * when the caller's transaction commits; the payload names the schema, which tests share a
   * database by). Nothing on SQLite: one process owns the file.
   */
  async notifyMoved(number: number): Promise<void> {
    if (this.c.dialect !== 'postgres') return;
    await sql`select pg_notify(${RULES_CHANNEL}, current_schema() || ':' || ${String(number)})`.execute(this.c.db);
  }

  async moveActive(expected: number | null, to: number, by: string, now: number): Promise<boolean> {
    if (expected === null) {
      const r = await this.c.db
        .insertInto('rule_active')
        .values({ id: 1, number: to, moved_by: by, moved_at: now })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    }
    const r = await this.c.db
      .updateTable('rule_active')
      .set({ number: to, moved_by: by, moved_at: now })
      .where('id', '=', 1)
      .where('number', '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
