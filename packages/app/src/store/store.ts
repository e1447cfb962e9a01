import { sql } from 'kysely';
import { AuditLog } from '../audit/audit-log.js';
import { ConsentLedger } from '../contacts/consent-ledger.js';
import { ContactEvents } from '../contacts/contact-events.js';
import { ContactRepository } from '../contacts/contact-repository.js';
import { ContactSnapshots } from '../contacts/contact-snapshots.js';
import { DecisionReads } from '../contacts/decision-reads.js';
import { CrmAccounts } from '../crm/crm-accounts.js';
import { CrmCallbacks } from '../crm/crm-callbacks.js';
import { CrmReplayIds } from '../crm/crm-replay.js';
import { CrmSyncCursors } from '../crm/crm-sync-cursors.js';
import { CrmWritebacks } from '../crm/crm-writebacks.js';
import type { Conn, DatabaseLocation, Dialect, OpenDatabase } from '../db/connection.js';
import { TableUpkeep } from '../db/table-upkeep.js';
import { inReadSnapshot, inTransaction, savepoints } from '../db/transaction.js';
import { AttemptRepository } from '../delivery/attempt-repository.js';
import { type DeliveryMove, deliveriesMovedAtOnce, deliveriesMovedOneByOne } from '../delivery/deliveries-recorded.js';
import { ReceiptRepository } from '../delivery/receipt-repository.js';
import { type SendRecorded, type SentSend, sendsRecordedAtOnce, sendsRecordedOneByOne } from '../delivery/sends-recorded.js';
import { InboxRepository } from '../inbox/inbox-repository.js';
import { JourneyRepository } from '../journeys/journey-repository.js';
import type { Logger } from '../logger.js';
import { IdempotencyKeys } from '../messages/idempotency.js';
import { MessageRepository } from '../messages/message-repository.js';
import { SandboxLog } from '../providers/sandbox/sandbox-log.js';
import { OperationsReads, ReportRepository } from '../reports/report-repository.js';
import { DraftRepository } from '../rules/draft-repository.js';
import { DryRunRepository } from '../rules/dry-run-repository.js';
import { RulesRepository } from '../rules/rules-repository.js';
import { SeenSignatures } from '../security/seen-signatures.js';
import type { TimerFor } from '../timers/timer-key.js';
import { TimerRepository, TimerWrites } from '../timers/timer-repository.js';
import { acceptChecked, type InboxRequest, type InboxRequestResult } from './accept-checked.js';
import { type WorkAtHand, workAtHand } from './work-at-hand.js';

/**
 * The Store port: every durable thing Signalbox keeps, as one repository per concept, and
 * `transaction()`. One implementation over Kysely serves both adapters (SQLite embedded,
 * PostgreSQL production). The raw database handle stays inside the repositories.
 */
export class Store {
  readonly contacts: ContactRepository;
  readonly contactSnapshots: ContactSnapshots;
  readonly consent: ConsentLedger;
  readonly contactEvents: ContactEvents;
  readonly decisionReads: DecisionReads;
  readonly messages: MessageRepository;
  readonly idempotency: IdempotencyKeys;
  readonly attempts: AttemptRepository;
  readonly receipts: ReceiptRepository;
  readonly timers: TimerRepository;
  readonly journeys: JourneyRepository;
  readonly inbox: InboxRepository;
  readonly audit: AuditLog;
  readonly reports: ReportRepository;
  readonly operations: OperationsReads;
  readonly rules: RulesRepository;
  readonly drafts: DraftRepository;
  readonly dryRuns: DryRunRepository;
  readonly sandbox: SandboxLog;
  readonly seenSignatures: SeenSignatures;
  readonly crmAccounts: CrmAccounts;
  readonly crmSync: CrmSyncCursors;
  readonly crmWritebacks: CrmWritebacks;
  readonly crmCallbacks: CrmCallbacks;
  readonly crmReplay: CrmReplayIds;
  private readonly conn: Conn;

  constructor(
    private readonly open: OpenDatabase,
    conn?: Conn,
  ) {
    const c = conn ?? { db: open.db, dialect: open.dialect };
    this.conn = c;
    this.contacts = new ContactRepository(c);
    this.contactSnapshots = new ContactSnapshots(c);
    this.consent = new ConsentLedger(c);
    this.contactEvents = new ContactEvents(c);
    this.decisionReads = new DecisionReads(c);
    this.messages = new MessageRepository(c);
    this.idempotency = new IdempotencyKeys(c);
    this.attempts = new AttemptRepository(c);
    this.receipts = new ReceiptRepository(c);
    this.timers = new TimerRepository(c, timerWritesOf(open));
    this.journeys = new JourneyRepository(c);
    this.inbox = new InboxRepository(c);
    this.audit = new AuditLog(c);
    this.reports = new ReportRepository(c);
    this.operations = new OperationsReads(c);
    this.rules = new RulesRepository(c);
    this.drafts = new DraftRepository(c);
    this.dryRuns = new DryRunRepository(c);
    this.sandbox = new SandboxLog(c);
    this.seenSignatures = new SeenSignatures(c);
    this.crmAccounts = new CrmAccounts(c);
    this.crmSync = new CrmSyncCursors(c);
    this.crmWritebacks = new CrmWritebacks(c);
    this.crmCallbacks = new CrmCallbacks(c);
    this.crmReplay = new CrmReplayIds(c);
  }

  /** Notifications from every process on this database (PostgreSQL; null on SQLite, one process). */
  get listen(): NonNullable<OpenDatabase['listen']> | null {
    return this.open.listen ?? null;
  }

  /** Tells every process on this database (PostgreSQL; null on SQLite, one process). */
  get notify(): NonNullable<OpenDatabase['notify']> | null {
    return this.open.notify ?? null;
  }

  /** The schema the tables are in, as the database names it (PostgreSQL; null on SQLite). */
  get currentSchema(): NonNullable<OpenDatabase['currentSchema']> | null {
    return this.open.currentSchema ?? null;
  }

  /** Where the database is, so a thread of its own can open another connection (none for `:memory:`). */
  get location(): DatabaseLocation | undefined {
    return this.open.location;
  }

  get dialect(): Dialect {
    return this.open.dialect;
  }

  /** The worker's VACUUM and ANALYZE of this database's tables, where the server's autovacuum does not (PostgreSQL). */
  tableUpkeep(log?: Logger): TableUpkeep {
    const l = this.open.location;
    return new TableUpkeep(this.conn, l?.kind === 'postgres' ? (l.upkeep ?? 'auto') : 'off', log);
  }

  /** What a worker's round has to do, in one statement (see work-at-hand.ts); ready events counted up to `cap`. */
  async workAtHand(now: number, cap: number): Promise<WorkAtHand> {
    await this.timers.flushDeferred();
    return workAtHand(this.conn, now, cap);
  }

  /**
   * Sends a unit made, recorded as sent with their messages (`attempts.sentMany`, then
   * `messages.sentMany` for the attempts that moved), atomically: on PostgreSQL one statement,
   * needing no transaction around it (see sends-recorded.ts); elsewhere, and for a claim or a
   * message given twice, the two in one transaction. Each send recorded says whether receipts wait
   * parked for it; they are left for the caller to take and apply.
   */
  async sendsRecorded(list: readonly SentSend[], now: number): Promise<SendRecorded[]> {
    if (list.length === 0) return [];
    const distinct = (f: (s: SentSend) => string) => new Set(list.map(f)).size === list.length;
    if (this.dialect === 'postgres' && distinct((s) => s.claim) && distinct((s) => s.messageId))
      return sendsRecordedAtOnce(this.conn, list, now);
    return this.transaction((tx) => sendsRecordedOneByOne(tx, list, now));
  }

  /**
   * Attempts moved on by delivered and read receipts, with their messages (never back), and the
   * timers those receipts make moot (delivery timeouts) cancelled: on PostgreSQL one statement
   * (see deliveries-recorded.ts); elsewhere `attempts.moveMany` and `messages.transitionMany` for
   * each status, delivered then read, then `timers.cancel`.
   */
  async deliveriesMoved(moves: readonly DeliveryMove[], cancel: readonly TimerFor[], now: number): Promise<void> {
    if (this.dialect === 'postgres' && new Set(moves.map((m) => m.claim)).size === moves.length) {
      await this.timers.flushDeferred();
      await deliveriesMovedAtOnce(this.conn, moves, cancel, now);
      return;
    }
    await deliveriesMovedOneByOne(this, moves, cancel, now);
  }

  /** Requests' events into the inbox, each only if the contacts it names are stored (see accept-checked.ts). */
  acceptChecked(requests: readonly InboxRequest[]): Promise<InboxRequestResult[]> {
    return acceptChecked(this.conn, this, requests);
  }

  /** Whether this store's calls are part of a transaction. */
  get inTransaction(): boolean {
    return this.conn.db.isTransaction;
  }

  /**
   * Runs `fn` with a store whose every call is part of one transaction (committed when `fn`
   * resolves, rolled back when it throws). Inside, a nested `transaction()` joins the outer one.
   * Never call a provider or a CRM from inside: on SQLite the one write lock is held to the end.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.conn.db.isTransaction) return fn(this);
    return inTransaction(this.conn, async (tx) => {
      const store = new Store(this.open, tx);
      const r = await fn(store);
      // what was kept to be written together is written before the commit
      await store.timers.flushDeferred();
      return r;
    });
  }

  /**
   * Runs `fn` with a store whose reads all see one consistent snapshot, taking no write lock (a
   * dry run reading every contact while sending goes on). Use a store on a connection of its own.
   */
  readSnapshot<T>(fn: (snapshot: Store) => Promise<T>): Promise<T> {
    return inReadSnapshot(this.conn, (c) => fn(new Store(this.open, c)));
  }

  /**
   * Runs `fn` under a savepoint of the current transaction: when it throws, only what it did is
   * rolled back (and the error rethrown); the transaction goes on. `o.lastInUnit`: nothing the
   * transaction does after `fn` has to stay out of the savepoint, so on PostgreSQL it is left for
   * the commit to release with the rest (a round trip fewer; what follows it in the transaction
   * then runs inside it, and is committed with it all the same).
   */
  async savepoint<T>(name: string, fn: () => Promise<T>, o: { lastInUnit?: boolean } = {}): Promise<T> {
    if (!this.conn.db.isTransaction) throw new Error('savepoint() runs inside transaction()');
    // timers kept to be written together (TimerRepository.scheduleLater) belong to the savepoint
    // they were scheduled under: written before it is set and before it is released, dropped with it
    await this.timers.flushDeferred();
    await savepoints.set(this.conn, name);
    try {
      const r = await fn();
      await this.timers.flushDeferred();
      if (!(o.lastInUnit === true && this.dialect === 'postgres')) await savepoints.release(this.conn, name);
      return r;
    } catch (err) {
      await savepoints.rollback(this.conn, name);
      this.timers.dropDeferred();
      this.contacts.forgetLocks();
      throw err;
    }
  }

  /**
   * Whether another connection is waiting for the write lock this one holds (SQLite: one writer
   * per file); a group of units of work commits early when it is. Always false on PostgreSQL.
   */
  othersWaitingToWrite(): boolean {
    return (this.open.writersWaiting?.() ?? 0) > 0;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.conn.db);
  }

  close(): Promise<void> {
    return this.open.close();
  }
}

/** The timers one open database's stores (the root one, each transaction's) scheduled: one note for them all. */
const timerWrites = new WeakMap<OpenDatabase, TimerWrites>();
function timerWritesOf(open: OpenDatabase): TimerWrites {
  let w = timerWrites.get(open);
  if (w === undefined) {
    w = new TimerWrites();
    timerWrites.set(open, w);
  }
  return w;
}
