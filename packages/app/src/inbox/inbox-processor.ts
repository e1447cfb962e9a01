import type { Clock } from '../clock.js';
import { isConnectionLoss } from '../db/connection-loss.js';
import { yieldToIo } from '../delivery/receipts.js';
import type { Sender } from '../delivery/sender.js';
import type { Unit } from '../delivery/unit.js';
import { NotFoundError } from '../errors.js';
import type { JourneyStore } from '../journeys/journeys.js';
import type { Logger } from '../logger.js';
import { contextOf, currentTraceparent, inSpan } from '../tracing/tracing.js';
import type { EventApplier, PreparedEvents } from './apply-event.js';
import { type InboxRepository, type InboxRow, inboxRow } from './inbox-repository.js';
import { type InboxSource, PermanentFailure, type Prepared } from './inbox-source.js';
import type { IncomingEvent } from './incoming-event.js';

export interface InboxStore extends JourneyStore {
  inbox: InboxRepository;
  savepoint<T>(name: string, fn: () => Promise<T>, o?: { lastInUnit?: boolean }): Promise<T>;
}

/** Events applied per commit by a worker (each under its own savepoint). */
export const EVENTS_PER_COMMIT = 50;
/** Raw events prepared per round, and how many of their sources' steps run at once. */
const RAW_PER_ROUND = 50;
const RAW_CONCURRENCY = 8;
/** Failed tries before an event becomes a dead letter (after 1, 2, 4 and 8 s). */
const TRIES = 5;
/** Tries of an event that met the database away or a deadlock (see failed). */
const TRANSIENT_TRIES = 20;

/** An event of a unit applied (metrics hear of it once the unit commits). */
interface Applied {
  row: InboxRow;
  outcome: 'applied' | 'ignored' | 'retry' | 'dead';
}

/** An event failed where the unit's events had one savepoint together: they are applied again, one savepoint each. */
class OneFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('an event of the unit failed; it runs again with a savepoint per event');
  }
}

export interface InboxMetrics {
  /** An event applied (or given up on), with how long it waited since it was received. */
  applied(source: string, outcome: 'applied' | 'ignored' | 'retry' | 'dead', waitedMs: number): void;
}

/**
 * Works the inbox: ready events are taken inside the transaction that applies them (a crash rolls
 * the taking back with the rest: no lease), up to 50 per commit; when one of them fails they are
 * applied again with a savepoint per event, so the failing event takes only itself back (see
 * `applyTaken`); raw events first go through their source's step
 * (outside any transaction: it may call the CRM), then are applied the same way.
 */
export class InboxProcessor {
  private readonly sources: ReadonlyMap<string, InboxSource>;

  constructor(
    private readonly d: {
      store: InboxStore;
      sender: Sender<InboxStore>;
      applier: EventApplier;
      sources: readonly InboxSource[];
      clock: Clock;
      log: Logger;
      metrics?: InboxMetrics;
    },
  ) {
    this.sources = new Map(d.sources.map((s) => [s.source, s]));
  }

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /**
   * Applies the next ready events (≤ `limit`) in one unit of work; returns how many were taken.
   * `look: false` when the caller has just seen ready events (the round's look, a full unit
   * before): the unit then takes them without asking first.
   */
  async processReady(limit = EVENTS_PER_COMMIT, look = true): Promise<number> {
    if (look && !(await this.d.store.inbox.hasWork(this.now()))) return 0;
    await yieldToIo();
    let rows: InboxRow[] = [];
    try {
      await this.unitOfEvents(async (u) => {
        rows = await u.store.inbox.take(this.now(), limit);
        return this.applyTaken(
          u,
          rows.map((row) => ({ row, p: { kind: 'events', events: [row.payload as IncomingEvent] } })),
        );
      });
    } catch (err) {
      // the commit itself failed: nothing of the group happened; each event counts a failed try
      for (const row of rows) await this.failedNow(row, err);
    }
    return rows.length;
  }

  /**
   * Raw events: their sources' steps run first (a few at once, outside any transaction), then
   * what they prepared is applied in one unit of work. Returns how many were taken. `look: false`
   * when the caller has just seen raw events waiting.
   */
  async processRaw(limit = RAW_PER_ROUND, look = true): Promise<number> {
    if (look && !(await this.d.store.inbox.hasWork(this.now(), 'raw'))) return 0;
    const rows = await this.d.store.inbox.peekRaw(this.now(), limit);
    const prepared = new Map<string, Prepared | { failed: unknown }>();
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < rows.length; i = next++) {
        const row = rows[i] as InboxRow;
        const source = this.sources.get(row.source);
        try {
          if (source === undefined) throw new PermanentFailure(`no step for raw events of source "${row.source}"`);
          prepared.set(row.id, await source.prepare(row));
        } catch (err) {
          prepared.set(row.id, { failed: err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RAW_CONCURRENCY, rows.length) }, lane));
    let taken = 0;
    try {
      await this.unitOfEvents(async (u) => {
        // another worker may have taken some meanwhile: only what is still pending is applied here
        const mine = await u.store.inbox.takeRaw(rows.map((r) => r.id));
        taken = mine.size;
        const items: Array<{ row: InboxRow; p: Prepared }> = [];
        const failed: Applied[] = [];
        for (const row of rows) {
          const p = prepared.get(row.id);
          if (!mine.has(row.id) || p === undefined) continue;
          if ('failed' in p) failed.push({ row, outcome: await this.failed(u.store, row, p.failed) });
          else items.push({ row, p });
        }
        return [...failed, ...(await this.applyTaken(u, items))];
      });
    } catch (err) {
      for (const row of rows) await this.failedNow(row, err);
    }
    return taken;
  }

  /** One unit of work applying a group of events; the metrics hear what happened to each once it has committed. */
  private async unitOfEvents(work: (u: Unit<InboxStore>) => Promise<Applied[]>): Promise<void> {
    const applied = await this.d.sender.unitThenSend(work);
    for (const a of applied) this.d.metrics?.applied(a.row.source, a.outcome, this.now() - a.row.receivedAt);
  }

  /**
   * Applies the events a unit has taken, in order. They are first applied under one savepoint for
   * them all (not one per event: two round trips fewer for each on PostgreSQL); when one fails,
   * that savepoint is rolled back — the rows and lanes taken stay locked — and they are applied
   * again under a savepoint each, so the failing event takes back only itself. Sends claimed and
   * metrics told in what was taken back go with it.
   */
  private async applyTaken(u: Unit<InboxStore>, items: ReadonlyArray<{ row: InboxRow; p: Prepared }>): Promise<Applied[]> {
    if (items.length === 0) return [];
    const sends = u.sends?.length ?? 0;
    const told = u.told.length;
    try {
      // the unit commits right after its events: the commit releases their savepoint
      return await u.store.savepoint('events', () => this.applyAll(u, items, false), { lastInUnit: true });
    } catch (err) {
      if (!(err instanceof OneFailed)) throw err;
      u.sends?.splice(sends);
      u.told.splice(told);
      return this.applyAll(u, items, true);
    }
  }

  /**
   * Applies the events of a unit, in order. Unguarded, the first failure throws `OneFailed` (see
   * `applyTaken`) and the events are marked done together at the end; guarded,
   * each is applied and marked done under a savepoint of its own, and a failure is recorded on it.
   */
  private async applyAll(u: Unit<InboxStore>, items: ReadonlyArray<{ row: InboxRow; p: Prepared }>, guarded: boolean): Promise<Applied[]> {
    const applied: Applied[] = [];
    const done: string[] = [];
    // unguarded, what can be done for all the events at once is done first (see EventApplier.prepare);
    // whatever fails in what the events share (this, and writing what they kept to write together
    // at the end) is taken back with them all, then they go one savepoint each, as for a failing event
    const together = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw new OneFailed(err);
      }
    };
    const prepared = guarded
      ? undefined
      : await together(() =>
          this.d.applier.prepare(
            u,
            items.flatMap(({ p }) => (p.kind === 'events' ? p.events : [])),
          ),
        );
    for (const { row, p } of items) {
      const mark = u.sends?.length ?? 0;
      const toldMark = u.told.length;
      const apply = async () => {
        await this.applyPrepared(u, p, prepared);
        if (guarded || p.kind === 'ignore') await u.store.inbox.finish(row.id, this.now(), p.kind === 'ignore' ? p.note : null);
        else done.push(row.id);
      };
      try {
        // its trace goes on from the span that accepted it (the sends claimed here continue it)
        await inSpan('inbox.apply', contextOf(row.trace), { 'signalbox.source': row.source, 'signalbox.event_type': row.type }, () =>
          guarded ? u.store.savepoint('event', apply) : apply(),
        );
        applied.push({ row, outcome: p.kind === 'ignore' ? 'ignored' : 'applied' });
      } catch (err) {
        if (!guarded) throw new OneFailed(err);
        u.sends?.splice(mark);
        u.told.splice(toldMark);
        applied.push({ row, outcome: await this.failed(u.store, row, err) });
      }
    }
    if (!guarded)
      await together(async () => {
        await u.store.timers.flushDeferred();
        await u.store.inbox.finishMany(done, this.now());
      });
    return applied;
  }

  private async applyPrepared(u: Unit<InboxStore>, p: Prepared, prepared: PreparedEvents | undefined): Promise<void> {
    if (p.kind === 'events') for (const e of p.events) await this.d.applier.apply(u, e, prepared);
    else if (p.kind === 'split') {
      const trace = currentTraceparent();
      await u.store.inbox.insertRows(p.entries.map((e) => inboxRow({ trace, ...e, stage: e.stage ?? 'raw' }, this.now())));
    }
  }

  /** A failed try recorded outside any unit (the unit's commit failed), and heard by the metrics. */
  private async failedNow(row: InboxRow, err: unknown): Promise<void> {
    try {
      const outcome = await this.failed(this.d.store, row, err);
      this.d.metrics?.applied(row.source, outcome, this.now() - row.receivedAt);
    } catch {
      // the database is away: the event stays pending and is tried again
    }
  }

  /**
   * A failed event is retried with backoff (1, 2, 4, 8 s), then kept as a dead letter with its
   * error. Returns which (the caller tells the metrics once the record of it is committed).
   */
  private async failed(store: { inbox: InboxRepository }, row: InboxRow, err: unknown): Promise<'retry' | 'dead'> {
    const message = (err as Error).message ?? String(err);
    const tries = row.attempts + 1;
    // the database away (a restart, a failover, a statement past its deadline) or a deadlock is
    // seldom the event's fault: tried again within 30 s, up to TRANSIENT_TRIES times before it is
    // a dead letter (a statement that always runs past the deadline still ends as one)
    if ((isConnectionLoss(err) || isTransient(err)) && tries < TRANSIENT_TRIES) {
      await store.inbox.failed(row.id, message, { retryAt: this.now() + 1000 * Math.min(2 ** (tries - 1), 30) });
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message }, 'event not applied: the database was away; will retry');
      return 'retry';
    }
    if (err instanceof NotFoundError || err instanceof PermanentFailure || tries >= TRIES) {
      await store.inbox.failed(row.id, message, { deadAt: this.now() });
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message }, 'event kept as a dead letter');
      return 'dead';
    }
    const retryAt = this.now() + 1000 * 2 ** (tries - 1);
    await store.inbox.failed(row.id, message, { retryAt });
    this.d.log.warn({ inboxId: row.id, type: row.type, err: message, retryAt }, 'event failed; will retry');
    return 'retry';
  }
}

/** Deadlock (40P01) or serialization failure (40001): the same work succeeds when tried again. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
