import { type Conn, parseJson } from '../db/connection.js';

/** What operators see of the inbox: its dead letters and its events by state (read-only views). */

export interface DeadLetter {
  id: string;
  source: string;
  eventId: string;
  type: string;
  receivedAt: number;
  deadAt: number;
  attempts: number;
  error: string;
  payload: unknown;
}

export type InboxState = 'pending' | 'failed' | 'dead' | 'processed';

/** An inbox event as a list shows it, with the state it is in and its last error. */
export interface InboxListed {
  id: string;
  source: string;
  eventId: string;
  type: string;
  stage: string;
  state: InboxState;
  receivedAt: number;
  processedAt: number | null;
  deadAt: number | null;
  /** When a failed event is tried again. */
  retryAt: number | null;
  attempts: number;
  error: string | null;
  payload: unknown;
}

/** Dead letters, newest first (`before`: the `deadAt`/id cursor of the last page's last row). */
export async function deadLetters(c: Conn, limit: number, before?: { deadAt: number; id: string }): Promise<DeadLetter[]> {
  let q = c.db
    .selectFrom('inbox')
    .select(['id', 'source', 'event_id', 'type', 'payload', 'received_at', 'dead_at', 'attempts', 'error'])
    .where('dead_at', 'is not', null);
  if (before !== undefined)
    q = q.where((eb) => eb.or([eb('dead_at', '<', before.deadAt), eb.and([eb('dead_at', '=', before.deadAt), eb('id', '<', before.id)])]));
  const rows = await q.orderBy('dead_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    eventId: r.event_id,
    type: r.type,
    receivedAt: Number(r.received_at),
    deadAt: Number(r.dead_at),
    attempts: r.attempts,
    error: r.error ?? '',
    payload: parseJson(r.payload),
  }));
}

/**
 * Events newest first by the state they are in: `pending` (waiting, never failed), `failed`
 * (failed, to be tried again), `dead` (given up on), `processed`; by source and type. `after`
 * (the last row's receipt time and id) pages on.
 */
export async function listInbox(
  c: Conn,
  f: { state?: InboxState | undefined; source?: string | undefined; type?: string | undefined },
  limit: number,
  after?: { receivedAt: number; id: string },
): Promise<InboxListed[]> {
  let q = c.db
    .selectFrom('inbox')
    .select([
      'id',
      'source',
      'event_id',
      'type',
      'stage',
      'payload',
      'received_at',
      'processed_at',
      'dead_at',
      'attempts',
      'error',
      'claim_expires_at',
    ]);
  if (f.state === 'dead') q = q.where('dead_at', 'is not', null);
  else if (f.state === 'processed') q = q.where('processed_at', 'is not', null).where('dead_at', 'is', null);
  else if (f.state === 'failed') q = q.where('processed_at', 'is', null).where('dead_at', 'is', null).where('attempts', '>', 0);
  else if (f.state === 'pending') q = q.where('processed_at', 'is', null).where('dead_at', 'is', null).where('attempts', '=', 0);
  if (f.source !== undefined) q = q.where('source', '=', f.source);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (after !== undefined)
    q = q.where((eb) =>
      eb.or([eb('received_at', '<', after.receivedAt), eb.and([eb('received_at', '=', after.receivedAt), eb('id', '<', after.id)])]),
    );
  const rows = await q.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    eventId: r.event_id,
    type: r.type,
    stage: r.stage,
    state: r.dead_at !== null ? 'dead' : r.processed_at !== null ? 'processed' : r.attempts > 0 ? 'failed' : 'pending',
    receivedAt: Number(r.received_at),
    processedAt: r.processed_at === null ? null : Number(r.processed_at),
    deadAt: r.dead_at === null ? null : Number(r.dead_at),
    retryAt:
      r.dead_at === null && r.processed_at === null && r.attempts > 0 && r.claim_expires_at !== null ? Number(r.claim_expires_at) : null,
    attempts: r.attempts,
    error: r.error,
    payload: parseJson(r.payload),
  }));
}

/** How many events were given up on. */
export async function deadCount(c: Conn): Promise<number> {
  const r = await c.db
    .selectFrom('inbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('dead_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
