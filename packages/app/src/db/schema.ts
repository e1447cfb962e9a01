import type { Generated } from 'kysely';

/** Table types for Kysely. Instants are epoch milliseconds; JSON is stored as text in both dialects. */
export interface ContactsTable {
  id: string;
  data: string;
  merged_into: string | null;
  version: number;
  created_at: number;
  updated_at: number;
  /** When its fields were last said, as of the word that said them (null: before this was kept). */
  fields_at: Generated<number | null>;
}
export interface IdentitiesTable {
  kind: string;
  value: string;
  contact_id: string;
  created_at: number;
  /** A provider said this address does not exist (an invalid number, a hard bounce): kept for finding the contact, not used to send. */
  unreachable_at: number | null;
  unreachable_reason: string | null;
}
export interface IdentityConflictsTable {
  id: string;
  kind: string;
  value: string;
  contact_id: string;
  other_contact_id: string;
  detail: string;
  created_at: number;
}
export interface ConsentLedgerTable {
  id: string;
  contact_id: string;
  channel: string;
  purpose: string;
  status: string;
  source: string;
  legal_basis: string | null;
  evidence: string | null;
  at: number;
  recorded_at: number;
}
export interface ContactEventsTable {
  id: string;
  contact_id: string;
  type: string;
  at: number;
  object_type: string | null;
  object_id: string | null;
  data: string;
}
export interface InboxTable {
  id: string;
  source: string;
  event_id: string;
  type: string;
  payload: string;
  received_at: number;
  processed_at: number | null;
  /**
   * Events are taken and applied in one transaction (no lease); these two hold a failed row back:
   * 'retry' and the time before which it is not taken again.
   */
  claim_owner: string | null;
  claim_expires_at: number | null;
  /** Failed tries so far. */
  attempts: number;
  error: string | null;
  /** `ready` (apply as it is) or `raw` (its source's step runs first: mapping, CRM look-ups). */
  stage: string;
  /**
   * What the event is about (`c:<contact id>`, `i:<kind>:<identity>`, a CRM record): on PostgreSQL
   * one worker at a time takes a lane's events, so one contact's events apply in the order received.
   */
  lane: string | null;
  /** Set when the event was given up on: a dead letter, kept with its error until retried. */
  dead_at: number | null;
  /** The W3C traceparent of the span that accepted it (tracing on; see tracing/tracing.ts). */
  trace: string | null;
}
export interface MessagesTable {
  id: string;
  contact_id: string;
  idempotency_key: string | null;
  journey_instance_id: string | null;
  type: string;
  purpose: string;
  team: string | null;
  workflow: string | null;
  journey_id: string | null;
  template: string | null;
  status: string;
  outcome: string;
  channel: string | null;
  cost: number;
  request: string;
  decision: string;
  created_at: number;
  updated_at: number;
}
export interface AttemptsTable {
  id: string;
  message_id: string;
  step: number;
  channel: string;
  provider: string;
  claim: string;
  provider_message_id: string | null;
  status: string;
  cost: number;
  error: string | null;
  /** How a router reached the provider that served it (fail-overs and why). */
  route: string | null;
  created_at: number;
  updated_at: number;
  /**
   * Set while a send claimed without a timer row (due now, claimed in the transaction that decided
   * it) is in flight: past it, a worker resumes the send through the gate. Cleared by any update.
   */
  lease_expires_at: number | null;
  /** The instance holding the lease: a restarted instance resumes its own sends at once. */
  lease_owner: string | null;
  /** What was sent: the rendered content as JSON (null: the template had no content, or nothing was sent). */
  content: string | null;
  language: string | null;
  /** SMS: GSM-7 or UCS-2, and how many parts (each billed). */
  encoding: string | null;
  segments: number | null;
}
export interface ReceiptsTable {
  id: string;
  attempt_id: string;
  status: string;
  at: number;
  detail: string;
}
export interface PendingReceiptsTable {
  provider: string;
  provider_message_id: string;
  status: string;
  at: string;
  received_at: number;
  /** Why a failure receipt says it was not delivered (the provider's code), when it said. */
  error: string | null;
}
export interface JourneyInstancesTable {
  id: string;
  journey_id: string;
  key: string;
  contact_id: string;
  status: string;
  state: string;
  version: number;
  created_at: number;
  updated_at: number;
}
export interface TimersTable {
  id: string;
  key: string;
  kind: string;
  ref: string | null;
  due_at: number;
  payload: string;
  claim_owner: string | null;
  claim_expires_at: number | null;
  fired_at: number | null;
  cancelled_at: number | null;
  created_at: number;
  /** The contact whose message or journey it is (indexed while pending). */
  contact_id: Generated<string | null>;
}
export interface IdempotencyTable {
  scope: string;
  key: string;
  request_hash: string;
  status: number;
  response: string;
  created_at: number;
}
/** Published rulesets: immutable, numbered versions. */
export interface RuleVersionsTable {
  number: number;
  /** The document's own `version` string. */
  label: string;
  document: string;
  /** SHA-256 of the document's canonical JSON. */
  hash: string;
  author: string;
  reason: string;
  based_on: number | null;
  /** The dry run the publisher looked at, if any. */
  dry_run_id: string | null;
  created_at: number;
}
/** The one row (id 1) naming the active version. */
export interface RuleActiveTable {
  id: number;
  number: number;
  moved_by: string;
  moved_at: number;
}
/** Candidate rulesets, stored without being active. */
export interface RuleDraftsTable {
  id: string;
  label: string | null;
  document: string;
  hash: string;
  valid: number;
  problems: string;
  author: string;
  created_at: number;
}
export interface DryRunsTable {
  id: string;
  status: string;
  spec: string;
  candidate_hash: string;
  baseline_number: number | null;
  done: number;
  total: number;
  result: string | null;
  error: string | null;
  author: string;
  created_at: number;
  finished_at: number | null;
  heartbeat_at: number | null;
}
export interface AuditLogTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}
export interface SandboxSendsTable {
  claim: string;
  provider_message_id: string;
  channel: string;
  address: string;
  content: string;
  /** The rendered content it was handed (JSON), when the template had content. */
  rendered: string | null;
  at: number;
  /** How many times the provider was called with this idempotency key. */
  calls: number;
}

export interface CrmPortalsTable {
  crm: string;
  portal_id: string;
  tokens: string;
  expires_at: number;
  status: string;
  status_reason: string | null;
  installed_at: number;
  updated_at: number;
}
export interface CrmSyncTable {
  crm: string;
  portal_id: string;
  kind: string;
  cursor: string | null;
  done: Generated<number>;
  count: Generated<number>;
  updated_at: number;
  /** When the sync began (null: begun before migration 0061). */
  started_at: Generated<number | null>;
  /** The instance running this sync, and until when its claim holds (migration 0062). */
  owner: Generated<string | null>;
  owner_until: Generated<number | null>;
}
export interface CrmWritebacksTable {
  message_id: string;
  crm: string;
  portal_id: string;
  crm_record_id: string | null;
  status: string;
  attempts: Generated<number>;
  error: string | null;
  updated_at: number;
  /** The message's status when it was last written (null: before outcomes were kept). */
  outcome: string | null;
  /** The message's cost when it was last written (null: before costs were kept). */
  cost: number | null;
}
export interface CrmCallbacksTable {
  callback_id: string;
  crm: string;
  portal_id: string;
  message_id: string;
  completed_at: number | null;
  outcome: string | null;
  created_at: number;
}

/** Signatures of signed requests already accepted, kept for as long as a replay would verify. */
export interface CrmReplayTable {
  crm: string;
  account: string;
  channel: string;
  replay_id: number;
  updated_at: number;
}
export interface SeenSignaturesTable {
  signature: string;
  expires_at: number;
}
/** Every decision taken about a message after the first (the send gate deciding again). */
export interface MessageDecisionsTable {
  id: string;
  message_id: string;
  at: number;
  outcome: string;
  decision: string;
}

export interface Database {
  contacts: ContactsTable;
  identities: IdentitiesTable;
  identity_conflicts: IdentityConflictsTable;
  consent_ledger: ConsentLedgerTable;
  contact_events: ContactEventsTable;
  inbox: InboxTable;
  messages: MessagesTable;
  attempts: AttemptsTable;
  receipts: ReceiptsTable;
  pending_receipts: PendingReceiptsTable;
  journey_instances: JourneyInstancesTable;
  timers: TimersTable;
  idempotency: IdempotencyTable;
  rule_versions: RuleVersionsTable;
  rule_active: RuleActiveTable;
  rule_drafts: RuleDraftsTable;
  dry_runs: DryRunsTable;
  audit_log: AuditLogTable;
  sandbox_sends: SandboxSendsTable;
  crm_portals: CrmPortalsTable;
  crm_sync: CrmSyncTable;
  crm_writebacks: CrmWritebacksTable;
  crm_callbacks: CrmCallbacksTable;
  seen_signatures: SeenSignaturesTable;
  crm_replay: CrmReplayTable;
  message_decisions: MessageDecisionsTable;
}

/**
 * Every column of a table, named: a statement that names its columns can be prepared once per
 * connection (`select *` is left unprepared, see named-statements.ts). The type refuses a list
 * that leaves a column out, so a column added to the table must be added here too.
 */
function everyColumn<T>() {
  return <const C extends ReadonlyArray<keyof T & string>>(
    columns: C & ([Exclude<keyof T, C[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, C[number]> }),
  ): C => columns;
}

export const COLUMNS = {
  attempts: everyColumn<AttemptsTable>()([
    'id',
    'message_id',
    'step',
    'channel',
    'provider',
    'claim',
    'provider_message_id',
    'status',
    'cost',
    'error',
    'route',
    'created_at',
    'updated_at',
    'lease_expires_at',
    'lease_owner',
    'content',
    'language',
    'encoding',
    'segments',
  ]),
  consent_ledger: everyColumn<ConsentLedgerTable>()([
    'id',
    'contact_id',
    'channel',
    'purpose',
    'status',
    'source',
    'legal_basis',
    'evidence',
    'at',
    'recorded_at',
  ]),
  contact_events: everyColumn<ContactEventsTable>()(['id', 'contact_id', 'type', 'at', 'object_type', 'object_id', 'data']),
  pending_receipts: everyColumn<PendingReceiptsTable>()(['provider', 'provider_message_id', 'status', 'at', 'received_at', 'error']),
  messages: everyColumn<MessagesTable>()([
    'id',
    'contact_id',
    'idempotency_key',
    'journey_instance_id',
    'type',
    'purpose',
    'team',
    'workflow',
    'journey_id',
    'template',
    'status',
    'outcome',
    'channel',
    'cost',
    'request',
    'decision',
    'created_at',
    'updated_at',
  ]),
};
