import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';

/**
 * The contacts a transaction has locked (PostgreSQL; SQLite has one writer), held by the contact
 * repository on that transaction, which lives as long as it: each contact is locked once, not again
 * for every request of a unit, and what it was merged into is remembered with the lock. A rollback
 * to a savepoint releases the locks taken after it (`forget`); a merge made in the transaction
 * updates what was remembered (`merged`). Nothing is remembered outside a transaction.
 */
export class ContactLocks {
  private readonly locked = new Set<string>();
  /** Of the contacts locked by `lockCurrent` or `lockMany`: what each was merged into then (null: current). */
  private readonly mergedInto = new Map<string, string | null>();

  constructor(
    private readonly c: Conn,
    /** The id a contact id stands for now, following merges (SQLite resolves without locking). */
    private readonly currentId: (id: string) => Promise<string | null>,
  ) {}

  /**
   * `currentId` that also locks the contact it finds (PostgreSQL; see `lock`), in one statement
   * per link of the merge chain: an event naming its contact resolves and locks it at once.
   */
  async lockCurrent(id: string): Promise<string | null> {
    if (this.c.dialect !== 'postgres') return this.currentId(id);
    // locked already in this transaction (lockMany): what it was merged into is known (a merge
    // made since, in this transaction, updated it: `merged`)
    const known = this.mergedInto.get(id);
    if (known !== undefined) return known === null ? id : this.lockCurrent(known);
    const [row] = (
      await prepared(
        this.c,
        'contact id, locked',
        (d) => d.selectFrom('contacts').select(['id', 'merged_into']).where('id', '=', arg(0)).forUpdate(),
        [id],
      )
    ).rows;
    if (row === undefined) return null;
    if (this.c.db.isTransaction) {
      this.locked.add(row.id);
      this.mergedInto.set(row.id, row.merged_into);
    }
    return row.merged_into === null ? row.id : this.lockCurrent(row.merged_into);
  }

  /**
   * Locks several contacts at once (PostgreSQL; nothing on SQLite), in id order, the way a unit
   * of work about to apply their events would one by one: `lockCurrent` and `lock` then take no
   * statement for them. Returns what each found contact was merged into (null: it is current).
   */
  async lockMany(ids: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    // outside a transaction a lock would end with its statement: nothing to lock, nothing to remember
    if (this.c.dialect !== 'postgres' || !this.c.db.isTransaction) return out;
    const wanted = [...new Set(ids)].filter((id) => !this.mergedInto.has(id)).sort();
    if (wanted.length > 0) {
      const { rows } = await prepared<{ id: string; merged_into: string | null }>(
        this.c,
        'contact ids, locked, many',
        (d) => ({
          compile: () =>
            sql<{ id: string; merged_into: string | null }>`select id, merged_into from contacts
              where id = any(${arg(0)}::text[]) order by id for update`.compile(d),
        }),
        [wanted],
      );
      for (const r of rows) {
        this.locked.add(r.id);
        this.mergedInto.set(r.id, r.merged_into);
      }
    }
    for (const id of ids) {
      const m = this.mergedInto.get(id);
      if (m !== undefined) out.set(id, m);
    }
    return out;
  }

  /**
   * Locks the contact's row until the transaction ends (PostgreSQL; SQLite has one writer): every
   * decision about one contact sees the one before it.
   */
  async lock(id: string): Promise<void> {
    if (this.c.dialect !== 'postgres' || this.locked.has(id)) return;
    await prepared(this.c, 'lock contact', (d) => d.selectFrom('contacts').select('id').where('id', '=', arg(0)).forUpdate(), [id]);
    if (this.c.db.isTransaction) this.locked.add(id);
  }

  /** A contact this transaction merged into another: if it was remembered as current, it is not any more. */
  merged(from: string, to: string): void {
    if (this.mergedInto.has(from)) this.mergedInto.set(from, to);
  }

  forget(): void {
    this.locked.clear();
    this.mergedInto.clear();
  }
}

/**
 * Two requests naming one new identity at once (a message and an event for a new phone, on two
 * instances) must not both find nothing and each make a contact: the second would then take the
 * identity from the first, leaving the first's contact without it (a message accepted for it
 * failed for want of an address). On PostgreSQL, when an identity is not found, every identity
 * of the request is locked for the transaction, in one order (so two upserts never wait on each
 * other in a cycle), before any contact is locked, and looked up again (a statement after the
 * wait sees what the other committed). SQLite has one writer: nothing to do (false).
 */
export async function lockIdentities(tx: Conn, identities: Array<{ kind: string; value: string }>): Promise<boolean> {
  if (tx.dialect !== 'postgres' || identities.length === 0) return false;
  const keys = [...new Set(identities.map((i) => `${i.kind}:${i.value}`))].sort();
  await sql`select count(pg_advisory_xact_lock(hashtextextended(k, 11))) from (select unnest(${keys}::text[]) as k order by 1) ordered`.execute(
    tx.db,
  );
  return true;
}
