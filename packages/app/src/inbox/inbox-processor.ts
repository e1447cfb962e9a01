import type { Clock } from '../clock.js';
import { yieldToIo } from '../delivery/receipts.js';
import type { Sender } from '../delivery/sender.js';
import type { Unit } from '../delivery/unit.js';
import { NotFoundError } from '../errors.js';
import type { JourneyStore } from '../journeys/journeys.js';
import type { Logger } from '../logger.js';
import { contextOf, currentTraceparent, inSpan } from '../tracing/tracing.js';
import type { EventApplier } from './apply-event.js';
import { type InboxRepository, type InboxRow, inboxRow } from './inbox-repository.js';
import { type InboxSource, PermanentFailure, type Prepared } from './inbox-source.js';
import type { IncomingEvent } from './incoming-event.js';

export interface InboxStore extends JourneyStore {
  inbox: InboxRepository;
  savepoint<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Events applied per commit by a worker (each under its own savepoint). */
const EVENTS_PER_COMMIT = 50;
/** Raw events prepared per round, and how many of their sources' steps run at once. */
const RAW_PER_ROUND = 50;
const RAW_CONCURRENCY = 8;
/** Failed tries before an event becomes a dead letter (after 1, 2, 4 and 8 s). */
const TRIES = 5;

export interface InboxMetrics {
  /** An event applied (or given up on), with how long it waited since it was received. */
  applied(source: string, outcome: 'applied' | 'ignored' | 'retry' | 'dead', waitedMs: number): void;
}

/**
 * Works the inbox: ready events are taken inside the transaction that applies them (a crash rolls
 * the taking back with the rest: no lease), up to 50 per commit, each under its own savepoint so
 * one failing event takes only itself back; raw events first go through their source's step
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

  /** Applies the next ready events (≤ `limit`) in one unit of work; returns how many were taken. */
  async processReady(limit = EVENTS_PER_COMMIT): Promise<number> {
    if (!(await this.d.store.inbox.hasWork(this.now()))) return 0;
    await yieldToIo();
    let rows: InboxRow[] = [];
    try {
      await this.d.sender.unitThenSend(async (u) => {
        rows = await u.store.inbox.take(this.now(), limit);
        for (const row of rows) await this.applyRow(u, row, { kind: 'events', events: [row.payload as IncomingEvent] });
      });
    } catch (err) {
      // the commit itself failed: nothing of the group happened; each event counts a failed try
      for (const row of rows) await this.failed(this.d.store, row, err).catch(() => undefined);
    }
    return rows.length;
  }

  /**
   * Raw events: their sources' steps run first (a few at once, outside any transaction), then
   * what they prepared is applied in one unit of work. Returns how many were taken.
   */
  async processRaw(limit = RAW_PER_ROUND): Promise<number> {
    if (!(await this.d.store.inbox.hasWork(this.now(), 'raw'))) return 0;
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
      await this.d.sender.unitThenSend(async (u) => {
        // another worker may have taken some meanwhile: only what is still pending is applied here
        const mine = await u.store.inbox.takeRaw(rows.map((r) => r.id));
        taken = mine.size;
        for (const row of rows) {
          const p = prepared.get(row.id);
          if (!mine.has(row.id) || p === undefined) continue;
          if ('failed' in p) await this.failed(u.store, row, p.failed);
          else await this.applyRow(u, row, p);
        }
      });
    } catch (err) {
      for (const row of rows) await this.failed(this.d.store, row, err).catch(() => undefined);
    }
    return taken;
  }

  private async applyRow(u: Unit<InboxStore>, row: InboxRow, p: Prepared): Promise<void> {
    const mark = u.sends?.length ?? 0;
    try {
      // its trace goes on from the span that accepted it (the sends claimed here continue it)
      await inSpan('inbox.apply', contextOf(row.trace), { 'signalbox.source': row.source, 'signalbox.event_type': row.type }, () =>
        u.store.savepoint('event', async () => {
          if (p.kind === 'events') for (const e of p.events) await this.d.applier.apply(u, e);
          else if (p.kind === 'split') {
            const trace = currentTraceparent();
            await u.store.inbox.insertRows(p.entries.map((e) => inboxRow({ trace, ...e, stage: e.stage ?? 'raw' }, this.now())));
          }
          await u.store.inbox.finish(row.id, this.now(), p.kind === 'ignore' ? p.note : null);
        }),
      );
      this.d.metrics?.applied(row.source, p.kind === 'ignore' ? 'ignored' : 'applied', this.now() - row.receivedAt);
    } catch (err) {
      u.sends?.splice(mark);
      await this.failed(u.store, row, err);
    }
  }

  /** A failed event is retried with backoff (1, 2, 4, 8 s), then kept as a dead letter with its error. */
  private async failed(store: { inbox: InboxRepository }, row: InboxRow, err: unknown): Promise<void> {
    const message = (err as Error).message ?? String(err);
    const tries = row.attempts + 1;
    if (err instanceof NotFoundError || err instanceof PermanentFailure || tries >= TRIES) {
      await store.inbox.failed(row.id, message, { deadAt: this.now() });
      this.d.metrics?.applied(row.source, 'dead', this.now() - row.receivedAt);
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message }, 'event kept as a dead letter');
    } else {
      const retryAt = this.now() + 1000 * 2 ** (tries - 1);
      await store.inbox.failed(row.id, message, { retryAt });
      this.d.metrics?.applied(row.source, 'retry', this.now() - row.receivedAt);
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message, retryAt }, 'event failed; will retry');
    }
  }
}
