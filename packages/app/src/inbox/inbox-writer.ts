import { Coalescer } from '../db/coalescer.js';
import type { InboxTable } from '../db/schema.js';
import type { HotWrites } from './hot-writes.js';
import { type InboxEntry, inboxRow } from './inbox-repository.js';

/** Rows per write (one transaction; the store splits it into prepared INSERTs of ≤ 32 rows). */
const ROWS_PER_WRITE = 500;

/**
 * Group commit for ingest: requests that arrive while a write is under way (or waiting for the
 * lock the worker holds) are stored together by the next statement. Each request still gets its
 * answer only once its own rows are durable, and learns which of them were duplicates (an event
 * twice in one write counts once, for whoever sent it first).
 */
export class InboxWriter {
  private readonly writer: Coalescer<InboxTable[], { accepted: number; duplicates: number }>;

  constructor(writes: Pick<HotWrites, 'insertInbox'>) {
    this.writer = new Coalescer(
      async (requests) => {
        const inserted = await writes.insertInbox(requests.flat());
        return requests.map((rows) => {
          const accepted = rows.filter((r) => inserted.has(r.id)).length;
          return { accepted, duplicates: rows.length - accepted };
        });
      },
      ROWS_PER_WRITE,
      (rows) => rows.length,
    );
  }

  accept(events: readonly InboxEntry[], now: number): Promise<{ accepted: number; duplicates: number }> {
    return this.writer.submit(events.map((e) => inboxRow(e, now)));
  }

  /** Rows built by the caller (a CRM delivery kept as the text it came in). */
  acceptRows(rows: InboxTable[]): Promise<{ accepted: number; duplicates: number }> {
    return this.writer.submit(rows);
  }
}
