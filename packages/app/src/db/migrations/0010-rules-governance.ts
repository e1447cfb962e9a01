import { createHash } from 'node:crypto';
import { type Kysely, type Migration, sql } from 'kysely';
import { canonicalJson } from '../../canonical-json.js';

export const m0010: Migration = {
  async up(db: Kysely<unknown>) {
    // every published ruleset an immutable, numbered version (author, time, reason, content hash);
    // which one is active is a pointer of its own, moved by publish and rollback
    await db.schema
      .createTable('rule_versions')
      .ifNotExists()
      .addColumn('number', 'integer', (c) => c.primaryKey())
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('author', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('based_on', 'integer')
      .addColumn('dry_run_id', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('rule_active')
      .ifNotExists()
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('moved_by', 'text', (c) => c.notNull())
      .addColumn('moved_at', 'bigint', (c) => c.notNull())
      .execute();
    // candidates stored without being active; validation problems are kept with them
    await db.schema
      .createTable('rule_drafts')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('label', 'text')
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('valid', 'integer', (c) => c.notNull())
      .addColumn('problems', 'text', (c) => c.notNull())
      .addColumn('author', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // dry runs: their request, progress and result, kept for the audit trail of the publish after
    await db.schema
      .createTable('dry_runs')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('candidate_hash', 'text', (c) => c.notNull())
      .addColumn('baseline_number', 'integer')
      .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('author', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('audit_log_at').ifNotExists().on('audit_log').columns(['at', 'id']).execute();
    await db.schema.createIndex('audit_log_action').ifNotExists().on('audit_log').columns(['action', 'at']).execute();
    // what the old table held becomes versions 1…n, in the order it was published; the last
    // active one stays active
    const old = await sql<{ version: string; document: string; active: number; published_by: string; published_at: number }>`
      select version, document, active, published_by, published_at from rules_versions order by published_at, version`.execute(db);
    let n = 0;
    let active: { number: number; by: string; at: number } | null = null;
    for (const r of old.rows) {
      n++;
      const hash = createHash('sha256')
        .update(canonicalJson(JSON.parse(r.document)))
        .digest('hex');
      await sql`insert into rule_versions (number, label, document, hash, author, reason, based_on, created_at)
        values (${n}, ${r.version}, ${r.document}, ${hash}, ${r.published_by}, ${'published before versions were kept'}, ${n > 1 ? n - 1 : null}, ${Number(r.published_at)})`.execute(
        db,
      );
      if (Number(r.active) === 1) active = { number: n, by: r.published_by, at: Number(r.published_at) };
    }
    if (active !== null)
      await sql`insert into rule_active (id, number, moved_by, moved_at) values (1, ${active.number}, ${active.by}, ${active.at})`.execute(
        db,
      );
    await db.schema.dropTable('rules_versions').execute();
  },
};
