import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

/** One set of migrations for both dialects: only types both understand (text, integer, bigint, double precision). */
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('contacts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('merged_into', 'text')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('identities')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('identities_pk', ['kind', 'value'])
        .execute();
      await db.schema.createIndex('identities_contact').on('identities').column('contact_id').execute();
      await db.schema
        .createTable('identity_conflicts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('other_contact_id', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('consent_ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('legal_basis', 'text')
        .addColumn('evidence', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('recorded_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('consent_contact').on('consent_ledger').columns(['contact_id', 'at']).execute();
      await db.schema
        .createTable('contact_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('object_type', 'text')
        .addColumn('object_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('contact_events_contact').on('contact_events').columns(['contact_id', 'at']).execute();
      await db.schema
        .createTable('inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('processed_at', 'bigint')
        .addColumn('claim_owner', 'text')
        .addColumn('claim_expires_at', 'bigint')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addUniqueConstraint('inbox_source_event', ['source', 'event_id'])
        .execute();
      await db.schema.createIndex('inbox_pending').on('inbox').columns(['processed_at', 'received_at']).execute();
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('journey_instance_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('team', 'text')
        .addColumn('workflow', 'text')
        .addColumn('journey_id', 'text')
        .addColumn('template', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('channel', 'text')
        .addColumn('cost', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('messages_contact').on('messages').columns(['contact_id', 'created_at']).execute();
      await db.schema.createIndex('messages_journey').on('messages').column('journey_instance_id').execute();
      await db.schema.createIndex('messages_created').on('messages').column('created_at').execute();
      await db.schema
        .createTable('attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('claim', 'text', (c) => c.notNull().unique())
        .addColumn('provider_message_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('cost', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('attempts_message_step', ['message_id', 'step'])
        .execute();
      await db.schema.createIndex('attempts_provider_id').on('attempts').columns(['provider', 'provider_message_id']).execute();
      await db.schema
        .createTable('receipts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('attempt_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      // receipts that arrived before the send recorded the provider's id
      await db.schema
        .createTable('pending_receipts')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_message_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pending_receipts_pk', ['provider', 'provider_message_id', 'status'])
        .execute();
      await db.schema
        .createTable('journey_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('journey_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // one active instance per journey and key
      await db.schema
        .createIndex('journey_active_key')
        .on('journey_instances')
        .columns(['journey_id', 'key'])
        .unique()
        .where(sql.ref('status'), '=', 'active')
        .execute();
      await db.schema.createIndex('journey_contact').on('journey_instances').columns(['contact_id', 'status']).execute();
      await db.schema.createIndex('journey_key').on('journey_instances').columns(['key', 'status']).execute();
      await db.schema
        .createTable('timers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ref', 'text')
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('claim_owner', 'text')
        .addColumn('claim_expires_at', 'bigint')
        .addColumn('fired_at', 'bigint')
        .addColumn('cancelled_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('timers_due').on('timers').columns(['fired_at', 'cancelled_at', 'due_at']).execute();
      await db.schema.createIndex('timers_ref').on('timers').column('ref').execute();
      await db.schema
        .createTable('idempotency')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_pk', ['scope', 'key'])
        .execute();
      await db.schema
        .createTable('rules_versions')
        .addColumn('version', 'text', (c) => c.primaryKey())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('published_by', 'text', (c) => c.notNull())
        .addColumn('published_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sandbox_sends')
        .addColumn('claim', 'text', (c) => c.primaryKey())
        .addColumn('provider_message_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('calls', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
    },
  },
  '0002_hubspot': {
    async up(db: Kysely<unknown>) {
      // installed portals; tokens encrypted at rest (AES-256-GCM, key from the environment)
      await db.schema
        .createTable('crm_portals')
        .addColumn('crm', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('tokens', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('installed_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('crm_portals_pk', ['crm', 'portal_id'])
        .execute();
      // what a CRM sent us, durable before we answer; resolved to contacts afterwards
      await db.schema
        .createTable('crm_inbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('crm', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('processed_at', 'bigint')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_at', 'bigint', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('crm_inbox_pending').on('crm_inbox').columns(['processed_at', 'next_at']).execute();
      // sync cursors (initial paging, modified-since sweep), per portal
      await db.schema
        .createTable('crm_sync')
        .addColumn('crm', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('crm_sync_pk', ['crm', 'portal_id', 'kind'])
        .execute();
      // messages written to the CRM timeline, and workflow callbacks waiting for a message
      await db.schema
        .createTable('crm_writebacks')
        .addColumn('message_id', 'text', (c) => c.primaryKey())
        .addColumn('crm', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('crm_record_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('crm_callbacks')
        .addColumn('callback_id', 'text', (c) => c.primaryKey())
        .addColumn('crm', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .addColumn('outcome', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crm_callbacks_open').on('crm_callbacks').columns(['completed_at', 'created_at']).execute();
    },
  },
  '0003_attempt_leases': {
    async up(db: Kysely<unknown>) {
      // a send claimed in an event's own transaction has no timer row: its lease is on the attempt
      await db.schema.alterTable('attempts').addColumn('lease_expires_at', 'bigint').execute();
      await db.schema
        .createIndex('attempts_leased')
        .on('attempts')
        .column('lease_expires_at')
        .where(sql.ref('lease_expires_at'), 'is not', null)
        .execute();
    },
  },
  '0004_partial_pending_indexes': {
    async up(db: Kysely<unknown>) {
      // only what is still pending is indexed: finishing an event or firing a timer removes its
      // entry instead of moving it within an index that grew with every row ever stored
      await db.schema.dropIndex('inbox_pending').execute();
      await db.schema
        .createIndex('inbox_pending')
        .on('inbox')
        .columns(['received_at', 'id'])
        .where(sql.ref('processed_at'), 'is', null)
        .execute();
      await db.schema.dropIndex('timers_due').execute();
      await db.schema
        .createIndex('timers_due')
        .on('timers')
        .columns(['due_at', 'id'])
        .where(sql.ref('fired_at'), 'is', null)
        .where(sql.ref('cancelled_at'), 'is', null)
        .execute();
      // an attempt gets its provider id when the provider answers: claimed attempts stay out
      await db.schema.dropIndex('attempts_provider_id').execute();
      await db.schema
        .createIndex('attempts_provider_id')
        .on('attempts')
        .columns(['provider', 'provider_message_id'])
        .where(sql.ref('provider_message_id'), 'is not', null)
        .execute();
    },
  },
  '0005_receipts_by_attempt': {
    async up(db: Kysely<unknown>) {
      // a receipt is looked up by its attempt: a provider's retried webhook is recognised (same
      // attempt, status and time) and a message's receipts are read without a scan
      await db.schema.createIndex('receipts_attempt').on('receipts').columns(['attempt_id', 'status', 'at']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
}
