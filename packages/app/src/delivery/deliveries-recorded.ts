import { sql } from 'kysely';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import type { MessageRepository } from '../messages/message-repository.js';
import type { MessageStatus } from '../messages/status.js';
import { type TimerFor, timerKey } from '../timers/timer-key.js';
import type { TimerRepository } from '../timers/timer-repository.js';
import type { AttemptRepository } from './attempt-repository.js';
import { ATTEMPT_PROGRESS } from './attempt-status.js';

/** An attempt a batch of receipts moves on: to `delivered` or `read`, never back. */
export interface DeliveryMove {
  claim: string;
  messageId: string;
  status: 'delivered' | 'read';
}

/** Messages, as their attempts: delivered and read only move forward (a status and the ones before it). */
export const MESSAGE_PROGRESS: readonly MessageStatus[] = ['queued', 'sent', 'delivered', 'read'];

/**
 * `Store.deliveriesMoved` on PostgreSQL: one statement. What `attempts.moveMany`,
 * `messages.transitionMany` (for each status, delivered then read) and `timers.cancel` do one
 * after the other, as data-modifying CTEs: each attempt moves to its status from one before it;
 * each message to the furthest status of its attempts here, from one before it (a statement
 * updates a row once, and delivered-then-read one after the other ends the same); the timers are
 * cancelled if still pending. Four round trips a batch of receipts were one.
 *
 * The rows are locked in the order every other writer locks them (attempts, then messages, then
 * timers: a timeout firing meanwhile, `FollowUps.afterFailed`): each CTE runs when the select
 * first reads it, and the select reads them in that order. (Left unread, data-modifying CTEs run
 * after the main statement, the last one first: the timers would be locked before the attempts,
 * and a receipt racing its step's timeout could deadlock.)
 */
export async function deliveriesMovedAtOnce(
  c: Conn,
  moves: readonly DeliveryMove[],
  cancel: readonly TimerFor[],
  now: number,
): Promise<void> {
  if (moves.length === 0 && cancel.length === 0) return;
  await prepared(
    c,
    'deliveries moved at once',
    (d) => ({
      // `= any(…)` says again what the joins say: the rows are found by their keys whatever the
      // planner guesses (see attempts.sentMany)
      compile: () =>
        sql`with v as (
              select * from unnest(${arg(1)}::text[], ${arg(2)}::text[], ${arg(3)}::text[]) as v(claim, message_id, status)
            ),
            a as (
              update attempts a set status = v.status, updated_at = ${arg(0)}, lease_expires_at = null, lease_owner = null
              from v
              where a.claim = v.claim and a.claim = any(${arg(1)}::text[])
                and array_position(${arg(4)}::text[], a.status) < array_position(${arg(4)}::text[], v.status)
              returning 1
            ),
            furthest as (
              select message_id, (${arg(5)}::text[])[max(array_position(${arg(5)}::text[], status))] as status
              from v group by message_id
            ),
            m as (
              update messages m set status = f.status, updated_at = ${arg(0)}
              from furthest f
              where m.id = f.message_id and m.id = any(${arg(2)}::text[])
                and array_position(${arg(5)}::text[], m.status) < array_position(${arg(5)}::text[], f.status)
              returning 1
            ),
            t as (
              update timers set cancelled_at = ${arg(0)}
              where key = any(${arg(6)}::text[]) and coalesce(fired_at, cancelled_at) is null
              returning 1
            )
            select (select count(*) from a) as attempts, (select count(*) from m) as messages, (select count(*) from t) as timers`.compile(
          d,
        ),
    }),
    [
      now,
      moves.map((x) => x.claim),
      moves.map((x) => x.messageId),
      moves.map((x) => x.status),
      ATTEMPT_PROGRESS,
      MESSAGE_PROGRESS,
      cancel.map(timerKey),
    ],
  );
}

/**
 * `Store.deliveriesMoved` one statement per kind of record and status (SQLite, in-process: no
 * round trips to save), delivered before read, then the timers cancelled.
 */
export async function deliveriesMovedOneByOne(
  s: { attempts: AttemptRepository; messages: MessageRepository; timers: TimerRepository },
  moves: readonly DeliveryMove[],
  cancel: readonly TimerFor[],
  now: number,
): Promise<void> {
  for (const status of ['delivered', 'read'] as const) {
    const these = moves.filter((m) => m.status === status);
    if (these.length === 0) continue;
    await s.attempts.moveMany(
      these.map((m) => m.claim),
      status,
      now,
      ATTEMPT_PROGRESS.slice(0, ATTEMPT_PROGRESS.indexOf(status)),
    );
    await s.messages.transitionMany(
      these.map((m) => m.messageId),
      MESSAGE_PROGRESS.slice(0, MESSAGE_PROGRESS.indexOf(status)),
      status,
      now,
    );
  }
  await s.timers.cancel(cancel, now);
}
