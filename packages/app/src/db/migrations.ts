import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { m0001 } from './migrations/0001-initial.js';
import { m0002 } from './migrations/0002-hubspot.js';
import { m0003 } from './migrations/0003-attempt-leases.js';
import { m0004 } from './migrations/0004-partial-pending-indexes.js';
import { m0005 } from './migrations/0005-receipts-by-attempt.js';
import { m0006 } from './migrations/0006-one-inbox.js';
import { m0010 } from './migrations/0010-rules-governance.js';
import { m0030 } from './migrations/0030-crm-per-account.js';
import { m0031 } from './migrations/0031-inbox-lanes.js';
import { m0040 } from './migrations/0040-attempt-content.js';
import { m0041 } from './migrations/0041-sandbox-rendered.js';

/**
 * One set of migrations for both dialects (one file each, in order): only types both understand
 * (text, integer, bigint, double precision); instants are epoch-ms bigints, JSON is text.
 */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_hubspot': m0002,
  '0003_attempt_leases': m0003,
  '0004_partial_pending_indexes': m0004,
  '0005_receipts_by_attempt': m0005,
  '0006_one_inbox': m0006,
  '0030_crm_per_account': m0030,
  '0031_inbox_lanes': m0031,
  '0040_attempt_content': m0040,
  '0041_sandbox_rendered': m0041,
  '0010_rules_governance': m0010,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Runs what is not applied yet. `schema`: the PostgreSQL schema the tables live in (Kysely looks for
 * its own migration tables in every schema unless told which: a second schema in the same database
 * would otherwise make it skip creating them here and then fail to find them).
 */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const { error, results } = await new Migrator({
    db,
    provider,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
}
