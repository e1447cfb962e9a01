import type { Worker } from 'node:worker_threads';
import type { MessageRequest, Ruleset } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { DatabaseLocation } from '../db/connection.js';
import { AppError, ConflictError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { DryRunRecord, DryRunRepository } from '../rules/dry-run-repository.js';
import type { ImpactData } from './impact.js';
import type { DryRunSample, DryRunThreadData, FromDryRun } from './protocol.js';
import { spawnThread } from './spawn.js';

export interface DryRunStart {
  candidate: { ruleset: Ruleset; ref: string; hash: string };
  baseline: { ruleset: Ruleset; number: number; label: string };
  sample: { kind: 'contacts'; at: number; requests: MessageRequest[] } | { kind: 'requests'; days: number; until: number };
  author: string;
}

/** A finished dry run's result (stored with it). */
export interface DryRunResult {
  candidate: { ref: string; label: string; hash: string };
  baseline: { number: number; label: string };
  sample: unknown;
  impact: ImpactData;
  elapsedMs: number;
  /** Contacts (or replayed requests) decided per second, both rulesets. */
  perSecond: number;
}

/** How often a running dry run's progress is written to its row (what other instances read). */
const PROGRESS_EVERY_MS = 1000;
/** How often the instance running a dry run says so in its row, even when no page finished meanwhile. */
const HEARTBEAT_EVERY_MS = 5000;
/** A running dry run nobody has said anything about for this long: its instance stopped; it is failed. */
export const DRY_RUN_SILENT_MS = 60_000;

/**
 * Dry runs in the background: each in a thread of its own with its own connection and one read
 * snapshot (never a write lock: sending goes on), one at a time per process (it takes the cores
 * it is given). Progress and the result are kept in the store.
 */
export class DryRuns {
  private running: { id: string; thread: Worker; done: number; total: number } | null = null;
  private readonly finished = new Set<() => void>();

  constructor(
    private readonly d: {
      repo: () => DryRunRepository;
      location: DatabaseLocation | undefined;
      clock: Clock;
      log: Logger;
      /** Threads deciding besides the reading one. */
      helpers?: number;
      pageSize?: number;
      /** Heap limit of each of its threads (MB). */
      threadMemoryMb?: number;
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  async start(s: DryRunStart): Promise<DryRunRecord> {
    const location = this.d.location;
    if (location === undefined)
      throw new AppError(503, 'DRY_RUN_UNAVAILABLE', 'dry runs need a database another thread can open (not an in-memory one)');
    if (this.running !== null)
      throw new ConflictError(
        'DRY_RUN_BUSY',
        `dry run ${this.running.id} is still running; wait for it (GET /api/v1/rules/dry-runs/${this.running.id})`,
      );
    const id = uuidv7(this.now());
    const sample: DryRunSample =
      s.sample.kind === 'contacts' ? s.sample : { kind: 'requests', from: s.sample.until - s.sample.days * 86_400_000, to: s.sample.until };
    const described =
      s.sample.kind === 'contacts'
        ? { kind: 'contacts', at: new Date(s.sample.at).toISOString(), requests: s.sample.requests }
        : {
            kind: 'requests',
            days: s.sample.days,
            from: new Date(sample.kind === 'requests' ? sample.from : 0).toISOString(),
            to: new Date(s.sample.until).toISOString(),
          };
    const spec = { candidate: s.candidate.ref, baseline: s.baseline.number, sample: described };
    const repo = this.d.repo();
    await repo.create({ id, spec, candidateHash: s.candidate.hash, baselineNumber: s.baseline.number, author: s.author }, this.now());
    const data: DryRunThreadData = {
      database: location,
      baseline: s.baseline.ruleset,
      candidate: s.candidate.ruleset,
      sample,
      pageSize: this.d.pageSize ?? 4000,
      helpers: this.d.helpers ?? 1,
    };
    const t0 = performance.now();
    const thread = spawnThread('./dry-run-thread', data, this.d.threadMemoryMb);
    const run = { id, thread, done: 0, total: 0 };
    this.running = run;
    let lastWrite = 0;
    let settled = false;
    // the row says this instance still runs it, even while a slow page keeps progress still
    const heartbeat = setInterval(() => {
      repo.progress(id, run.done, run.total, this.now()).catch(() => undefined);
    }, HEARTBEAT_EVERY_MS);
    heartbeat.unref();
    const settle = async (f: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeat);
      try {
        await f();
      } catch (err) {
        this.d.log.error({ err: (err as Error).message, dryRun: id }, 'dry run result not stored');
      } finally {
        if (this.running === run) this.running = null;
        void thread.terminate();
        for (const f of this.finished) f();
      }
    };
    thread.on('message', (m: FromDryRun) => {
      if (m.type === 'progress') {
        run.done = m.done;
        run.total = m.total;
        const t = Date.now();
        if (t - lastWrite >= PROGRESS_EVERY_MS) {
          lastWrite = t;
          repo.progress(id, m.done, m.total, this.now()).catch(() => undefined);
        }
      } else if (m.type === 'done') {
        const elapsedMs = Math.round(performance.now() - t0);
        const result: DryRunResult = {
          candidate: { ref: s.candidate.ref, label: s.candidate.ruleset.version, hash: s.candidate.hash },
          baseline: { number: s.baseline.number, label: s.baseline.label },
          sample: described,
          impact: m.impact,
          elapsedMs,
          perSecond: Math.round(((sample.kind === 'contacts' ? m.impact.contacts : m.impact.decisions) / Math.max(1, elapsedMs)) * 1000),
        };
        void settle(() => repo.finish(id, result, m.total, m.total, this.now()));
      } else {
        this.d.log.warn({ err: m.message, dryRun: id }, 'dry run failed');
        void settle(() => repo.fail(id, m.message, this.now()));
      }
    });
    thread.once('error', (err) => void settle(() => repo.fail(id, err.message, this.now())));
    thread.once('exit', (code) => void settle(() => repo.fail(id, `the dry run's thread exited (${code})`, this.now())));
    thread.unref();
    const rec = await repo.get(id);
    if (rec === null) throw new Error('dry run vanished');
    return rec;
  }

  /**
   * A dry run, with live progress when it runs here. One said to be running that no instance has
   * spoken for in DRY_RUN_SILENT_MS lost its instance (a crash, a restart): it is marked failed.
   */
  async get(id: string): Promise<DryRunRecord | null> {
    const repo = this.d.repo();
    const rec = await repo.get(id);
    if (rec === null || rec.status !== 'running') return rec;
    if (this.running?.id === id) return { ...rec, done: this.running.done, total: this.running.total };
    const now = this.now();
    const silentSince = now - DRY_RUN_SILENT_MS;
    if ((rec.heartbeatAt ?? rec.createdAt) >= silentSince) return rec;
    const error = `the instance running it stopped before it finished (nothing heard from it since ${new Date(rec.heartbeatAt ?? rec.createdAt).toISOString()})`;
    if (await repo.abandon(id, error, silentSince, now))
      this.d.log.warn({ dryRun: id }, 'dry run abandoned by its instance: marked failed');
    return repo.get(id);
  }

  /** Resolves when no dry run is running here (tests, shutdown). */
  idle(): Promise<void> {
    if (this.running === null) return Promise.resolve();
    return new Promise((resolve) => {
      const f = () => {
        this.finished.delete(f);
        resolve();
      };
      this.finished.add(f);
    });
  }

  async stop(): Promise<void> {
    const r = this.running;
    if (r === null) return;
    await r.thread.terminate();
    await this.idle();
  }
}
