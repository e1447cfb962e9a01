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
import { m0032 } from './migrations/0032-writeback-outcomes.js';
import { m0040 } from './migrations/0040-attempt-content.js';
import { m0041 } from './migrations/0041-sandbox-rendered.js';
import { m0045 } from './migrations/0045-unreachable-identities.js';
import { m0046 } from './migrations/0046-attempt-routes.js';
import { m0050 } from './migrations/0050-dry-run-heartbeat.js';
import { m0060 } from './migrations/0060-timers-by-contact.js';
import { m0061 } from './migrations/0061-sync-started-at.js';
import { m0062 } from './migrations/0062-sync-owner.js';
import { m0070 } from './migrations/0070-inbox-trace.js';
import { m0080 } from './migrations/0080-receipts-once.js';
import { m0090 } from './migrations/0090-room-for-updates.js';
import { m0091 } from './migrations/0091-writeback-costs.js';
import { m0092 } from './migrations/0092-contact-fields-at.js';
import { m0093 } from './migrations/0093-contact-events-by-type.js';
import { m0094 } from './migrations/0094-parked-receipt-errors.js';

/**
 * One set of migrations for both dialects (one file each, in order): only types both understand
 * (text, integer, bigint, double precision); instants are epoch-ms bigints, JSON is text.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_hubspot': m0002,
  '0003_attempt_leases': m0003,
  '0004_partial_pending_indexes': m0004,
  '0005_receipts_by_attempt': m0005,
  '0006_one_inbox': m0006,
  '0010_rules_governance': m0010,
  '0030_crm_per_account': m0030,
  '0031_inbox_lanes': m0031,
  '0032_writeback_outcomes': m0032,
  '0040_attempt_content': m0040,
  '0041_sandbox_rendered': m0041,
  '0045_unreachable_identities': m0045,
  '0046_attempt_routes': m0046,
  '0050_dry_run_heartbeat': m0050,
  '0060_timers_by_contact': m0060,
  '0061_sync_started_at': m0061,
  '0062_sync_owner': m0062,
  '0070_inbox_trace': m0070,
  '0080_receipts_once': m0080,
  '0090_room_for_updates': m0090,
  '0091_writeback_costs': m0091,
  '0092_contact_fields_at': m0092,
  '0093_contact_events_by_type': m0093,
  '0094_parked_receipt_errors': m0094,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Runs what is not applied yet; returns the names of the migrations it applied. `schema`: the
 * PostgreSQL schema the tables live in (Kysely looks for its own migration tables in every schema
 * unless told which: a second schema in the same database would otherwise make it skip creating
 * them here and then fail to find them).
 */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<string[]> {
  const { error, results } = await migrator(db, schema).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The migrations not applied yet (read only: nothing is created). */
export async function pendingMigrations(db: Kysely<unknown>, schema?: string): Promise<string[]> {
  return (await migrator(db, schema).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

function migrator(db: Kysely<unknown>, schema: string | undefined): Migrator {
  return new Migrator({ db, provider, ...(schema !== undefined ? { migrationTableSchema: schema } : {}) });
}
