import { Worker as NodeWorker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { ToWorker, WorkerThreadData } from './worker-thread.js';

const TSX_API = import.meta.resolve('tsx/esm/api');
const ENTRY = new URL('./worker-thread.ts', import.meta.url).href;

/** What the system needs of a worker, in this thread or its own. */
export interface WorkerHandle {
  start(): void;
  /** Resolves once the worker is polling (at once for a worker on this thread). */
  whenReady(): Promise<void>;
  nudge(): void;
  stop(): Promise<void>;
}

/**
 * Runs the worker (inbox, timers, provider calls) in a worker thread, so HTTP (ingest, receipts,
 * the API) keeps its own event loop and the second core. Work is still found through the store;
 * nudges only save the idle wait.
 */
export class ThreadWorker implements WorkerHandle {
  private thread: NodeWorker | null = null;
  private ready: Promise<void> | null = null;
  private nudged = false;
  private stopping = false;

  constructor(
    private readonly data: () => WorkerThreadData,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.thread !== null) return;
    this.stopping = false;
    // the app runs from TypeScript through tsx, whose loader a new thread must register itself
    const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY)}); })`;
    // a bounded young generation (RSS counts for both threads), but not a tiny one: at 8 MB the
    // worker's garbage (~150 KB an event) outlived two scavenges often enough to force a full
    // collection every 4 s, and the end-to-end p99 showed it (16 MB: −10 ms p99, +5 MB RSS)
    const thread = new NodeWorker(bootstrap, {
      eval: true,
      workerData: this.data(),
      resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 192 },
    });
    this.thread = thread;
    this.ready = new Promise((resolve, reject) => {
      thread.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'ready') resolve();
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
}
