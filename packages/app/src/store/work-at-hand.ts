import { CompiledQuery } from 'kysely';
import type { Conn } from '../db/connection.js';
import { markHot } from '../db/named-statements.js';

/** What a worker's round has to do, as one look sees it. */
export interface WorkAtHand {
  /** Ready events takeable now, counted up to the cap the look was given. */
  ready: number;
  /** Whether raw events (a source's step first) wait. */
  raw: boolean;
  /** When the first pending timer is due (null: none pending). */
  nextDue: number | null;
  /** Whether a leased send's lease has run out (a send to resume). */
  stalled: boolean;
}

/**
 * The four questions a worker's round asks before it works, in one statement: each is the poll its
 * own repository makes (`InboxRepository.hasWork` for either stage, `TimerRepository.nextDue`,
 * `AttemptRepository.takeStalled`'s look), with the same predicates, orders and indexes
 * (`inbox_pending`, `inbox_raw`, `timers_due`, `attempts_leased`), as scalar subqueries. Asked one
 * by one, they were four round trips a round, and a round that found ready events sent each of
 * its sides to look again: on a machine where every round trip wakes a process, those looks were
 * most of what a lightly loaded worker did. Counting the ready events (up to `cap`) tells the round
 * how many units can take a full share side by side.
 */
export async function workAtHand(c: Conn, now: number, cap: number): Promise<WorkAtHand> {
  const pg = c.dialect === 'postgres';
  const p = pg ? (i: number) => `$${i}` : () => '?';
  // the claim test of `hasWork`; its text (not a bound stage) selects each stage's partial index
  const takeable = (stage: 'ready' | 'raw', i: number) =>
    `processed_at is null and stage = '${stage}' and (claim_expires_at is null or claim_expires_at < ${p(i)})`;
  const text = `select
  (select count(*) from (select 1 as one from inbox where ${takeable('ready', 1)} order by received_at, id limit ${p(2)}) r) as ready,
  (select id from inbox where ${takeable('raw', 3)} order by received_at, id limit 1) as raw,
  (select due_at from timers where fired_at is null and cancelled_at is null order by due_at limit 1) as next_due,
  (select id from attempts where lease_expires_at is not null and lease_expires_at < ${p(4)} order by lease_expires_at limit 1) as stalled`;
  if (pg) markHot(text);
  const r = await c.db.executeQuery<{
    ready: number | string;
    raw: string | null;
    next_due: number | string | null;
    stalled: string | null;
  }>(CompiledQuery.raw(text, [now, cap, now, now]));
  const row = r.rows[0];
  return {
    ready: Number(row?.ready ?? 0),
    raw: row?.raw != null,
    nextDue: row?.next_due == null ? null : Number(row.next_due),
    stalled: row?.stalled != null,
  };
}
