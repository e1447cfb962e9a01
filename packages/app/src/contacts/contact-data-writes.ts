import type { Contact } from '@signalbox/engine';
import { sql } from 'kysely';
import { type Conn, json, parseJson } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';

/** Read-modify-write of a contact's data in one transaction (engagement, last inbound). */
export async function updateData(c: Conn, id: string, now: number, change: (c: Contact) => Contact): Promise<void> {
  await inTransaction(c, async (tx) => {
    const [row] = (
      await prepared(
        tx,
        'contact data for update',
        (d) => {
          const q = d.selectFrom('contacts').select(['data', 'merged_into']).where('id', '=', arg(0));
          // concurrent receipts update the same contact: lock the row (SQLite serialises writers already)
          return tx.dialect === 'postgres' ? q.forUpdate() : q;
        },
        [id],
      )
    ).rows;
    if (row === undefined || row.merged_into !== null) return;
    const next = change(parseJson<Contact>(row.data));
    await prepared(
      tx,
      'contact data update',
      (d) =>
        d
          .updateTable('contacts')
          .set({ data: arg(0), updated_at: arg(1), version: sql`version + 1` })
          .where('id', '=', arg(2)),
      [json(next), now, id],
    );
  });
}

/**
 * `updateData` for several contacts in one transaction (a batch of receipts); `change` gets each
 * contact's id. On PostgreSQL they are read and locked in one statement, in id order (two
 * batches never wait on each other crosswise for their contacts), and written in one.
 */
export async function updateDataMany(
  c: Conn,
  ids: readonly string[],
  now: number,
  change: (id: string, c: Contact) => Contact,
): Promise<void> {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length === 0) return;
  if (c.dialect !== 'postgres') {
    for (const id of sorted) await updateData(c, id, now, (contact) => change(id, contact));
    return;
  }
  await inTransaction(c, async (tx) => {
    const { rows } = await prepared<{ id: string; data: string }>(
      tx,
      'contacts data for update, many',
      (d) => ({
        compile: () =>
          sql<{ id: string; data: string }>`select id, data from contacts
            where id = any(${arg(0)}::text[]) and merged_into is null order by id for update`.compile(d),
      }),
      [sorted],
    );
    if (rows.length === 0) return;
    await prepared(
      tx,
      'contacts data update, many',
      (d) => ({
        compile: () =>
          sql`update contacts set data = v.data, updated_at = ${arg(0)}, version = version + 1
            from unnest(${arg(1)}::text[], ${arg(2)}::text[]) as v(id, data)
            where contacts.id = v.id and contacts.id = any(${arg(1)}::text[])`.compile(d),
      }),
      [now, rows.map((r) => r.id), rows.map((r) => json(change(r.id, parseJson<Contact>(r.data))))],
    );
  });
}
