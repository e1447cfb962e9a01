import type { InboxTable } from './schema.js';
import { inboxRow, type Store } from './store.js';

/** Rows per INSERT: 11 parameters a row stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
const ROWS_PER_STATEMENT = 500;

interface Pending {
  rows: InboxTable[];
  resolve(r: { accepted: number; duplicates: number }): void;
  reject(e: unknown): void;
}

/**
 * Group commit for ingest: requests that arrive while a write is under way (or waiting for the
 * lock the worker holds) are stored together by the next statement, instead of each taking the
 * write lock in turn. Each request still gets its answer only once its own rows are durable, and
 * learns which of them were duplicates (an event twice in one flush counts once, for whoever sent
 * it first).
 */
export class InboxWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly store: Store) {}

  accept(
    events: Array<{ source: string; eventId: string; type: string; payload: unknown }>,
    now: number,
  ): Promise<{ accepted: number; duplicates: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows: events.map((e) => inboxRow(e, now)), resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let rows = 0;
        while (this.queue.length > 0 && (batch.length === 0 || rows + (this.queue[0] as Pending).rows.length <= ROWS_PER_STATEMENT)) {
          const p = this.queue.shift() as Pending;
          batch.push(p);
          rows += p.rows.length;
        }
        try {
          const inserted = await this.store.insertInboxRows(batch.flatMap((p) => p.rows));
          for (const p of batch) {
            const accepted = p.rows.filter((r) => inserted.has(r.id)).length;
            p.resolve({ accepted, duplicates: p.rows.length - accepted });
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
