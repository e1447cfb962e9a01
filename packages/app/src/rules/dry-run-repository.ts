import type { Conn } from '../db/connection.js';
import type { DryRunsTable } from '../db/schema.js';

export type DryRunStatus = 'running' | 'done' | 'failed';

export interface DryRunRecord {
  id: string;
  status: DryRunStatus;
  spec: unknown;
  candidateHash: string;
  baselineNumber: number | null;
  done: number;
  total: number;
  result: unknown | null;
  error: string | null;
  author: string;
  createdAt: number;
  finishedAt: number | null;
  /** When the instance running it last said it still was (null: before migration 0050). */
  heartbeatAt: number | null;
}

const toRecord = (r: DryRunsTable, withResult: boolean): DryRunRecord => ({
  id: r.id,
  status: r.status as DryRunStatus,
  spec: JSON.parse(r.spec),
  candidateHash: r.candidate_hash,
  baselineNumber: r.baseline_number === null ? null : Number(r.baseline_number),
  done: Number(r.done),
  total: Number(r.total),
  result: withResult && r.result !== null ? JSON.parse(r.result) : null,
  error: r.error,
  author: r.author,
  createdAt: Number(r.created_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  heartbeatAt: r.heartbeat_at === null || r.heartbeat_at === undefined ? null : Number(r.heartbeat_at),
});

/** Dry runs with their progress and result, kept for the audit trail of the publish that follows. */
export class DryRunRepository {
  constructor(private readonly c: Conn) {}

  async create(
    r: { id: string; spec: unknown; candidateHash: string; baselineNumber: number; author: string },
    now: number,
  ): Promise<void> {
    await this.c.db
      .insertInto('dry_runs')
      .values({
        id: r.id,
        status: 'running',
        spec: JSON.stringify(r.spec),
        candidate_hash: r.candidateHash,
        baseline_number: r.baselineNumber,
        done: 0,
        total: 0,
        result: null,
        error: null,
        author: r.author,
        created_at: now,
        finished_at: null,
        heartbeat_at: now,
      })
      .execute();
  }

  /** Progress, and that the instance running it still is. */
  async progress(id: string, done: number, total: number, now: number): Promise<void> {
    await this.c.db
      .updateTable('dry_runs')
      .set({ done, total, heartbeat_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
  }

  /** Marks a running dry run failed when no instance has said it runs it since `silentSince`; whether it did. */
  async abandon(id: string, error: string, silentSince: number, now: number): Promise<boolean> {
    const r = await this.c.db
      .updateTable('dry_runs')
      .set({ status: 'failed', error, finished_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where((eb) => eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', silentSince)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async finish(id: string, result: unknown, done: number, total: number, now: number): Promise<void> {
    await this.c.db
      .updateTable('dry_runs')
      .set({ status: 'done', result: JSON.stringify(result), done, total, finished_at: now })
      .where('id', '=', id)
      .execute();
  }

  async fail(id: string, error: string, now: number): Promise<void> {
    await this.c.db
      .updateTable('dry_runs')
      .set({ status: 'failed', error, finished_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
  }

  async get(id: string): Promise<DryRunRecord | null> {
    const r = await this.c.db.selectFrom('dry_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? null : toRecord(r, true);
  }

  /** Dry runs newest first, without their results; `before` (the last id of the previous page) pages on. */
  async list(limit: number, before?: string): Promise<DryRunRecord[]> {
    let q = this.c.db.selectFrom('dry_runs').selectAll();
    if (before !== undefined) q = q.where('id', '<', before);
    return (await q.orderBy('id', 'desc').limit(limit).execute()).map((r) => toRecord(r, false));
  }
}
