import type { SentRecord } from '@signalbox/engine';
import { sql } from 'kysely';
import type { MessagesTable } from '../db/schema.js';

/** A history row: what the budget counts of a message, with its status and its request's priority where read. */
export type PressureRow = Pick<MessagesTable, 'type' | 'team' | 'channel' | 'created_at'> & {
  status?: string | null | undefined;
  priority?: string | null | undefined;
  /**
   * When its first step was claimed (null: none yet): from then it is being sent (or was), whatever
   * its status says yet, and the budget counts it from then.
   */
  claimed_at?: number | string | null | undefined;
};

/** When its first step was claimed, as a number (null: none yet, or not read). */
export const claimedAtOf = (r: PressureRow): number | null =>
  r.claimed_at === null || r.claimed_at === undefined ? null : Number(r.claimed_at);

/** Waiting to go and not being sent: no step claimed yet (a claimed one stays `queued` through its provider call and retries). */
export const pendingOf = (r: PressureRow) => r.status === 'queued' && claimedAtOf(r) === null;

/**
 * When its first step was claimed: the time a budget counts a message from once it went (a message
 * held back a day went a day after it was asked for: counted from its request, a second held back
 * a minute later would go a minute after it).
 */
export const FIRST_CLAIM_AT = sql<number | null>`(select min(a.created_at) from attempts a where a.message_id = messages.id)`;

const PRIORITIES = new Set(['low', 'normal', 'high']);
/** How a request's priority ranks (normal when it names none). */
export const RANK: Record<string, number> = { low: 0, normal: 1, high: 2 };

/** A message as the pressure budget counts it (a queued one is pending: see SentRecord). */
export function sentRecordOf(r: PressureRow): SentRecord {
  // counted from when it went (its first claim), else from when it was decided
  const at = claimedAtOf(r) ?? Number(r.created_at);
  const s: SentRecord = { at: new Date(at).toISOString(), type: r.type as SentRecord['type'] };
  if (r.channel !== null) s.channel = r.channel;
  if (r.team !== null) s.team = r.team;
  if (r.status !== undefined && r.status !== null) s.pending = pendingOf(r);
  if (r.priority !== undefined && r.priority !== null && PRIORITIES.has(r.priority)) s.priority = r.priority as SentRecord['priority'];
  return s;
}

/** The priority a message's request carries, read from its stored JSON (the column holds text). */
export const requestPriority = (dialect: string) =>
  dialect === 'postgres' ? sql<string | null>`(request::json ->> 'priority')` : sql<string | null>`json_extract(request, '$.priority')`;
