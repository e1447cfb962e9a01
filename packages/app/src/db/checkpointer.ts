import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * The thread's code (plain CommonJS, no loader needed): its own connection to the database file,
 * a PASSIVE checkpoint every `intervalMs` (it never waits for or blocks readers and writers), and
 * a last one when told to stop.
 */
const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
let timer = null;
const checkpoint = () => {
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
    // under a steady stream of commits the log is never found all copied at a writer's BEGIN,
    // which is when SQLite starts it over: it grew without bound (1 GB in 30 s at 500 events/s).
    // RESTART waits (here, on this thread, up to 20 ms) for a gap between the writer's
    // transactions, holds the write lock while it copies what PASSIVE left (a few ms) and lets
    // the next writer start the log over; if no gap comes it is a passive one and the next round
    // tries again
    if (passive && passive.log > workerData.restartPages) {
      db.pragma('busy_timeout = 20');
      try {
        db.pragma('wal_checkpoint(RESTART)');
      } finally {
        db.pragma('busy_timeout = 0');
        // it held the write lock: wake the connections waiting for it (WriteTurns.released)
        if (workerData.turns) {
          const cells = new Int32Array(workerData.turns);
          Atomics.add(cells, 0, 1);
          Atomics.notify(cells, 0);
        }
      }
    }
  } catch (e) {
    // SQLITE_BUSY (another checkpoint, a writer resetting the log): the next round takes it
    if (!String(e && e.code).startsWith('SQLITE_BUSY')) parentPort.postMessage({ type: 'error', message: String(e && e.message) });
  }
};
const round = () => {
  checkpoint();
  timer = setTimeout(round, workerData.intervalMs);
};
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearTimeout(timer);
  checkpoint();
  db.close();
  parentPort.postMessage({ type: 'stopped' });
  parentPort.close();
});
round();
`;

/**
 * Checkpoints a WAL database from a thread of its own. A checkpoint copies the log back into the
 * database file and syncs it (synchronous=NORMAL syncs only there); left to SQLite, it runs inside
 * whichever commit crosses 1,000 pages, and that request or worker round waits for the sync
 * (measured on a 2-core VM: ~0.3 ms added to every commit on average, in bursts of several ms).
 * The connections that write turn their own checkpoints off and this thread does them instead.
 */
export class Checkpointer {
  private thread: Worker | null = null;
  private stopping = false;

  constructor(
    private readonly file: string,
    private readonly onError: (message: string) => void,
    /** Log pages past which a checkpoint also has the log started over (see CODE). */
    private readonly restartPages: number,
    /** The writing connections' WriteTurns buffer, to wake them after holding the write lock. */
    private readonly turns: SharedArrayBuffer | undefined,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    if (this.thread !== null) return;
    this.stopping = false;
    const thread = new Worker(CODE, {
      eval: true,
      workerData: {
        file: this.file,
        module: BETTER_SQLITE3,
        intervalMs: this.intervalMs,
        restartPages: this.restartPages,
        turns: this.turns,
      },
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    thread.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') this.onError(m.message ?? 'checkpoint failed');
    });
    thread.on('error', (err) => this.onError(err.message));
    thread.once('exit', () => {
      if (this.thread !== thread) return;
      this.thread = null;
      // a checkpointer that died is replaced: without it the log would grow without bound
      if (!this.stopping) setTimeout(() => this.start(), 1000).unref();
    });
    thread.unref();
    this.thread = thread;
  }

  /** Runs a last checkpoint and ends the thread. */
  async stop(): Promise<void> {
    this.stopping = true;
    const thread = this.thread;
    if (thread === null) return;
    this.thread = null;
    // held by an unreferenced thread alone, the event loop would end before the thread does
    thread.ref();
    await new Promise<void>((resolve) => {
      thread.once('exit', () => resolve());
      thread.on('message', (m: { type: string }) => {
        if (m.type === 'stopped') void thread.terminate();
      });
      thread.postMessage('stop');
      setTimeout(() => void thread.terminate(), 5_000).unref();
    });
  }
}
