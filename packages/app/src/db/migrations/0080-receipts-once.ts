import { type Kysely, type Migration, sql } from 'kysely';

/**
 * A receipt (attempt, status, time) is logged once, by the database's own word: a unique index in
 * place of `receipts_attempt` (same columns). Before it, "log unless logged" was a `not exists`
 * that two overlapping transactions (a provider's retried webhook taken by another instance while
 * the first was still applying it) could both pass, and the receipt was then counted twice in the
 * contact's engagement. Receipts logged twice before this migration are kept once (the earliest id).
 */
export const m0080: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`delete from receipts where exists (
      select 1 from receipts r where r.attempt_id = receipts.attempt_id and r.status = receipts.status and r.at = receipts.at and r.id < receipts.id)`.execute(
      db,
    );
    await db.schema.createIndex('receipts_once').on('receipts').columns(['attempt_id', 'status', 'at']).unique().execute();
    await db.schema.dropIndex('receipts_attempt').execute();
  },
};
