import type { Worker as NodeWorker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { type CrmCalls, fromCallError, remoteCrmCalls } from '../crm/crm-calls.js';
import type { HotWrites } from '../inbox/hot-writes.js';
import type { Logger } from '../logger.js';
import { startThread } from '../threads.js';
import type { WorkerHandle } from './handle.js';
import type { FromWorker, HotWrite, ToWorker, WorkerThreadData } from './protocol.js';

/**
 * Runs the worker (inbox, timers, provider calls) in a worker thread, so HTTP (ingest, receipts,
 * the API) keeps its own event loop and the second core. Work is still found through the store;
 * nudges only save the idle wait.
 */
export class ThreadHost implements WorkerHandle {
  private thread: NodeWorker | null = null;
  private ready: Promise<void> | null = null;
  private nudged = false;
  private stopping = false;
  /** Hot writes handed to the thread, by id, until it answers (or exits). */
  private readonly pending = new Map<number, { resolve: (m: Answer) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Hot writes made so far by the thread and, when it was not there, by the caller's `local`. */
  readonly hotWriteCounts = { thread: 0, local: 0 };
  /** The thread hot writes go to: started, ready and not told to stop. */
  private live: NodeWorker | null = null;

  constructor(
    private readonly data: () => WorkerThreadData,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.thread !== null) return;
    this.stopping = false;
    // a bounded young generation (RSS counts for both threads), but not a tiny one: at 8 MB the
    // worker's garbage (~150 KB an event) outlived two scavenges often enough to force a full
    // collection every 4 s, and the end-to-end p99 showed it (16 MB: −10 ms p99, +5 MB RSS)
    const thread = startThread(import.meta.url, './thread-entry', {
      workerData: this.data(),
      resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 192 },
    });
    this.thread = thread;
    this.ready = new Promise((resolve, reject) => {
      thread.on('message', (m: FromWorker) => {
        if (m.type === 'written' || m.type === 'called' || m.type === 'metrics') this.pending.get(m.id)?.resolve(m);
        if (m.type === 'ready') {
          if (this.thread === thread && !this.stopping) this.live = thread;
          resolve();
        }
        if (m.type === 'failed') {
          this.log.error({ err: m.message }, 'worker thread failed to start');
          reject(new Error(m.message));
        }
      });
      thread.once('error', (err) => {
        this.log.error({ err: err.message }, 'worker thread crashed');
        reject(err);
      });
      thread.once('exit', (code) => {
        // what it had not answered is made on this thread (see hotWrites)
        for (const p of this.pending.values()) p.reject(new ThreadGone());
        this.pending.clear();
        if (this.live === thread) this.live = null;
        if (this.stopping || this.thread !== thread) return;
        // its claims expire and are retaken; start a fresh one
        this.log.error({ code }, 'worker thread exited; restarting in 1 s');
        this.thread = null;
        setTimeout(() => this.start(), 1000).unref();
      });
    });
    this.ready.catch(() => undefined);
    thread.unref();
  }

  /** Resolves once the thread has opened its store and started polling. */
  whenReady(): Promise<void> {
    return this.ready ?? Promise.resolve();
  }

  nudge(): void {
    // many requests in a burst need one wake-up
    if (this.thread === null || this.nudged) return;
    this.nudged = true;
    queueMicrotask(() => {
      this.nudged = false;
      this.thread?.postMessage({ type: 'nudge' } satisfies ToWorker);
    });
  }

  publish(message: ToWorker): void {
    this.thread?.postMessage(message);
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    this.stopping = true;
    if (thread === null) return;
    this.thread = null;
    // from now on hot writes are made on this thread; those handed over are still answered
    this.live = null;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      thread.once('exit', done);
      thread.on('message', (m: { type: string }) => {
        if (m.type === 'stopped') void thread.terminate();
      });
      thread.postMessage({ type: 'stop' } satisfies ToWorker);
      // a thread that does not stop in time is terminated (its claims expire and are retaken)
      setTimeout(() => void thread.terminate(), 10_000).unref();
    });
  }

  /** Sends the thread a request and waits for its answer (rejects with ThreadGone if it exits first). */
  private ask<A extends Answer>(thread: NodeWorker, message: (id: number) => ToWorker): Promise<A> {
    const id = this.nextId++;
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (m: Answer) => void, reject });
      thread.postMessage(message(id));
    }).finally(() => this.pending.delete(id));
  }

  /**
   * Hot writes made by the thread's connection while it runs (SQLite: the worker is then the only
   * connection that writes on the hot paths, so they queue behind its transaction instead of
   * competing for the file's write lock), by `local` otherwise. A write the thread had not
   * answered when it exited is made again by `local`, so nothing is lost: an event the thread had
   * stored is then a duplicate (the inbox is unique on source and event id), and receipts it had
   * applied are recognised as the same receipts again (as a provider's retried webhook is).
   */
  hotWrites(local: HotWrites): HotWrites {
    const call = async <T>(write: HotWrite, fallback: () => Promise<T>): Promise<T> => {
      const thread = this.live;
      const here = () => {
        this.hotWriteCounts.local++;
        return fallback();
      };
      if (thread === null) return here();
      try {
        const answer = await this.ask<FromWorker & { type: 'written' }>(thread, (id) => ({ type: 'write', id, write }));
        // with the database's code, as the error would have been made here (a data error is then retried per caller)
        if (!answer.ok) throw Object.assign(new Error(answer.message), answer.code !== undefined ? { code: answer.code } : {});
        this.hotWriteCounts.thread++;
        return answer.result as T;
      } catch (err) {
        if (err instanceof ThreadGone) return here();
        throw err;
      }
    };
    return {
      // a Set crosses the thread boundary as it is (structured clone)
      acceptInbox: (requests) => call({ kind: 'inbox', requests }, () => local.acceptInbox(requests)),
      receipts: (provider, list) => call({ kind: 'receipts', provider, receipts: [...list] }, () => local.receipts(provider, list)),
    };
  }

  /**
   * CRM calls made by the thread while it runs (it owns the accounts' limiters: one per portal or
   * org in the process), by `local` otherwise, or when the thread exits before answering.
   */
  crmCalls(local: CrmCalls): CrmCalls {
    return remoteCrmCalls(async (name, args) => {
      const thread = this.live;
      const here = () => (local[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      if (thread === null) return here();
      try {
        const answer = await this.ask<FromWorker & { type: 'called' }>(thread, (id) => ({ type: 'call', id, name, args }));
        if (!answer.ok) throw fromCallError(answer.error);
        return answer.result;
      } catch (err) {
        if (err instanceof ThreadGone) return here();
        throw err;
      }
    });
  }

  /** The thread's metrics (none while it is not running). */
  async metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[] | null> {
    const thread = this.live;
    if (thread === null) return null;
    try {
      const answer = await this.ask<FromWorker & { type: 'metrics' }>(thread, (id) => ({ type: 'metrics', id }));
      return answer.metrics;
    } catch {
      return null;
    }
  }
}

type Answer = Extract<FromWorker, { type: 'written' } | { type: 'called' } | { type: 'metrics' }>;

/** The worker thread exited before answering. */
class ThreadGone extends Error {
  constructor() {
    super('worker thread exited');
  }
}
