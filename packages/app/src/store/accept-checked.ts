import { CompiledQuery } from 'kysely';
import type { Conn } from '../db/connection.js';
import { markHot } from '../db/named-statements.js';
import type { InboxTable } from '../db/schema.js';
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

const COLUMNS = [
  ['id', 'text'],
  ['source', 'text'],
  ['event_id', 'text'],
  ['type', 'text'],
  ['stage', 'text'],
  ['payload', 'text'],
  ['received_at', 'bigint'],
  ['processed_at', 'bigint'],
  ['claim_owner', 'text'],
  ['claim_expires_at', 'bigint'],
  ['attempts', 'integer'],
  ['error', 'text'],
  ['dead_at', 'bigint'],
  ['lane', 'text'],
  ['trace', 'text'],
] as const satisfies ReadonlyArray<readonly [keyof InboxTable, string]>;

/**
 * Requests' events into the inbox, each request whole or not at all: its rows go in only if every
 * contact id it names is stored (current or merged), and a row whose (source, event id) is there
 * already, or earlier in the list, does not go in (a duplicate, acknowledged).
 *
 * PostgreSQL: one statement for every request of a group commit, the check and the insert
 * together. Asked apart, the check was a round trip of its own for every turn of the HTTP thread's
 * event loop, as many as the inserts: on a machine where each round trip wakes a process, a fifth of
 * the statements at 500 events/s (measured). The rows are bound as one array per column, so one
 * prepared statement serves any number of rows. SQLite (in process, one writer): the look-up and
 * the prepared inserts in one transaction, or the inserts alone when no request names a contact
 * (the embedded ingest bench: 10,700 requests/s; a transaction around every write, 9,500).
 */
export async function acceptChecked(c: Conn, store: Store, requests: readonly InboxRequest[]): Promise<InboxRequestResult[]> {
  if (c.dialect !== 'postgres') {
    // nothing to check (events naming their contacts by identities, a CRM's deliveries): the inserts alone, as they always were
    if (requests.every((r) => r.contacts.length === 0))
      return results(requests, await store.inbox.insertRows(requests.flatMap((r) => r.rows)), []);
    return store.transaction(async (tx) => {
      const found = await tx.contacts.existing(requests.flatMap((r) => r.contacts));
      const missing = requests.map((r) => [...new Set(r.contacts.filter((id) => !found.has(id)))]);
      const inserted = await tx.inbox.insertRows(requests.filter((_, k) => missing[k]?.length === 0).flatMap((r) => r.rows));
      return results(requests, inserted, missing);
    });
  }
  const rows = requests.flatMap((r, k) => r.rows.map((row) => ({ k, row })));
  const named = requests.flatMap((r, k) => [...new Set(r.contacts)].map((id) => ({ k, id })));
  const n = COLUMNS.length;
  const text = `with v as (
  select ${COLUMNS.map(([col]) => col).join(', ')}, request, ord
  from unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}, $${n + 1}::integer[]) with ordinality
    as v(${COLUMNS.map(([col]) => col).join(', ')}, request, ord)
), named as (
  select request, id from unnest($${n + 2}::integer[], $${n + 3}::text[]) as n(request, id)
), missing as (
  select n.request, n.id from named n where not exists (select 1 from contacts c where c.id = n.id)
), inserted as (
  insert into inbox (${COLUMNS.map(([col]) => col).join(', ')})
  select ${COLUMNS.map(([col]) => col).join(', ')} from v
  where not exists (select 1 from missing m where m.request = v.request)
  order by v.ord
  on conflict (source, event_id) do nothing
  returning id
)
select id, null::integer as request from inserted
union all
select id, request from missing`;
  // named, parsed once per connection (no `select *` in it: see named-statements.ts)
  markHot(text);
  const args = [
    ...COLUMNS.map(([col]) => rows.map(({ row }) => row[col])),
    rows.map(({ k }) => k),
    named.map(({ k }) => k),
    named.map(({ id }) => id),
  ];
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
