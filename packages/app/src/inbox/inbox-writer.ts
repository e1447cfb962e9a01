import { Coalescer } from '../db/coalescer.js';
import type { InboxTable } from '../db/schema.js';
import type { InboxRequest } from '../store/accept-checked.js';
import type { HotWrites } from './hot-writes.js';
import { type InboxEntry, inboxRow } from './inbox-repository.js';

/** Rows per write (`Store.acceptChecked`: one statement for up to 32 rows on PostgreSQL, else prepared INSERTs of ≤ 32 rows in one transaction). */
const ROWS_PER_WRITE = 500;

/** What became of a request: how many of its events were new and how many duplicates, or the contact ids it named that are not stored (then nothing was stored). */
export interface Accepted {
  accepted: number;
  duplicates: number;
  /** Contact ids the request named that are not stored: none of its events went in. */
  missing: string[];
}

/**
 * Group commit for ingest: requests that arrive while a write is under way (or waiting for the
 * lock the worker holds) are stored together by the next statement, each with the check that the
 * contacts it names are stored. Each request still gets its answer only once its own rows are
 * durable, and learns which of them were duplicates (an event twice in one write counts once, for
 * whoever sent it first), or that it named a contact we do not have (and nothing of it went in).
 */
export class InboxWriter {
  private readonly writer: Coalescer<InboxRequest, Accepted>;

  constructor(writes: Pick<HotWrites, 'acceptInbox'>) {
    this.writer = new Coalescer(
      async (requests) =>
        (await writes.acceptInbox(requests)).map((r, k) => {
          const rows = requests[k]?.rows.length ?? 0;
          return r.missing.length > 0
            ? { accepted: 0, duplicates: 0, missing: r.missing }
            : { accepted: r.inserted.size, duplicates: rows - r.inserted.size, missing: [] };
        }),
      ROWS_PER_WRITE,
      (r) => r.rows.length,
    );
  }

  /** Events of one request. */
  async accept(events: readonly InboxEntry[], now: number): Promise<{ accepted: number; duplicates: number }> {
    const { accepted, duplicates } = await this.writer.submit({ rows: events.map((e) => inboxRow(e, now)), contacts: [] });
    return { accepted, duplicates };
  }

  /** Events of one request naming `contacts` by id: stored only if each of them is (else `missing` says which are not). */
  acceptNaming(events: readonly InboxEntry[], now: number, contacts: readonly string[]): Promise<Accepted> {
    return this.writer.submit({ rows: events.map((e) => inboxRow(e, now)), contacts });
  }

  /** Rows built by the caller (a CRM delivery kept as the text it came in). */
  async acceptRows(rows: InboxTable[]): Promise<{ accepted: number; duplicates: number }> {
    const { accepted, duplicates } = await this.writer.submit({ rows, contacts: [] });
    return { accepted, duplicates };
  }
}
