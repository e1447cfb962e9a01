import { CompiledQuery } from 'kysely';
import type { Conn } from '../db/connection.js';
import { markHot } from '../db/named-statements.js';
import type { InboxTable } from '../db/schema.js';
import { INBOX_COLUMNS } from '../inbox/inbox-repository.js';
import type { Store } from './store.js';

/** One request's events for the inbox, stored only if every contact it names is stored. */
export interface InboxRequest {
  rows: readonly InboxTable[];
  /** Contact ids the request names (an event naming an unknown contact could only become a dead letter). */
  contacts: readonly string[];
}

/** What became of one request: the ids of its rows that went in (not duplicates), or the contacts it named that are not stored (then none went in). */
export interface InboxRequestResult {
  inserted: Set<string>;
  missing: string[];
}

/** Rows in one checked statement (as in one prepared inbox INSERT: a statement text per count). */
const ROWS_PER_STATEMENT = 32;

/**
 * Requests' events into the inbox, each request whole or not at all: its rows go in only if every
 * contact id it names is stored (current or merged), and a row whose (source, event id) is there
 * already, or earlier in the list, does not go in (a duplicate, acknowledged).
 *
 * PostgreSQL, a group commit of up to 32 rows (what ingest writes at a time under load): one
 * statement, the check and the insert together. Asked apart, the check was a statement and a round
 * trip of its own for every group commit: at 500 events/s a fifth of the statements, on a machine
 * where each round trip wakes a process (measured). The rows are bound one parameter
 * per value, prepared per row count, each row with a contact its request names: bound as arrays
 * (one statement for any count), PostgreSQL's work doubled (0.14 → 0.30–0.85 ms for two rows:
 * every array parameter is parsed, and the plan over `unnest` grew worse with the table). More
 * rows, or SQLite (in process, one writer): the look-up, then the inserts, in one transaction; the
 * inserts alone when no request names a contact (the embedded ingest bench: 10,700 requests/s; a
 * transaction around every write, 9,500).
 */
export async function acceptChecked(c: Conn, store: Store, requests: readonly InboxRequest[]): Promise<InboxRequestResult[]> {
  const named = requests.map((r) => [...new Set(r.contacts)]);
  // nothing to check (events naming their contacts by identities, a CRM's deliveries): the inserts alone, as they always were
  if (named.every((ids) => ids.length === 0)) return results(requests, await store.inbox.insertRows(requests.flatMap((r) => r.rows)), []);
  const rows = requests.flatMap((r, k) => r.rows.map((row, i) => ({ row, request: k, contact: named[k]?.[i] ?? null })));
  const oneStatement =
    c.dialect === 'postgres' &&
    rows.length > 0 &&
    rows.length <= ROWS_PER_STATEMENT &&
    requests.every((r, k) => (named[k]?.length ?? 0) <= r.rows.length);
  if (!oneStatement)
    return store.transaction(async (tx) => {
      const found = await tx.contacts.existing(named.flat());
      const missing = named.map((ids) => ids.filter((id) => !found.has(id)));
      const inserted = await tx.inbox.insertRows(requests.filter((_, k) => missing[k]?.length === 0).flatMap((r) => r.rows));
      return results(requests, inserted, missing);
    });
  const per = INBOX_COLUMNS.length + 2;
  // each row's place in the write, written in (not bound): the first of an event sent twice goes in, whatever the plan
  const tuples = rows.map(
    (_, i) =>
      `(${[...INBOX_COLUMNS.map(([, type]) => type), 'integer', 'text'].map((type, j) => `$${i * per + j + 1}::${type}`).join(', ')}, ${i})`,
  );
  const cols = INBOX_COLUMNS.map(([col]) => col).join(', ');
  const text = `with v (${cols}, request, contact, ord) as (values ${tuples.join(', ')}),
missing as (
  select distinct v.request, v.contact from v where v.contact is not null and not exists (select 1 from contacts c where c.id = v.contact)
), inserted as (
  insert into inbox (${cols})
  select ${cols} from v where not exists (select 1 from missing m where m.request = v.request)
  order by v.ord
  on conflict (source, event_id) do nothing
  returning id
)
select id, null::integer as request from inserted
union all
select contact, request from missing`;
  // named, parsed once per connection (one text per row count)
  markHot(text);
  const args = rows.flatMap(({ row, request, contact }) => [...INBOX_COLUMNS.map(([col]) => row[col]), request, contact]);
  const result = await c.db.executeQuery<{ id: string; request: number | null }>(CompiledQuery.raw(text, args));
  const inserted = new Set<string>();
  const missing = requests.map((): string[] => []);
  for (const r of result.rows) {
    if (r.request === null) inserted.add(r.id);
    else missing[r.request]?.push(r.id);
  }
  return results(requests, inserted, missing);
}

const results = (requests: readonly InboxRequest[], inserted: Set<string>, missing: string[][]): InboxRequestResult[] =>
  requests.map((r, k) => ({
    inserted: new Set(r.rows.filter((row) => inserted.has(row.id)).map((row) => row.id)),
    missing: missing[k] ?? [],
  }));
