/**
 * The worker's own thread (embedded and production profiles started by main.ts). better-sqlite3
 * is synchronous: a worker on the HTTP thread would hold every request behind the statements of
 * the event it is applying. Here it has its own event loop, its own database connection (SQLite
 * WAL: readers never wait, writers take turns) and its own sandbox provider, which posts receipts
 * back to the HTTP thread over real HTTP as before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadRuleset, type Receipt, type Ruleset } from '@signalbox/engine';
import { systemClock } from '../clock.js';
import { createLogger } from '../logger.js';
import { type Checkpoints, openPostgres, openSqlite } from '../store/database.js';
import type { InboxTable } from '../store/schema.js';
import { Store } from '../store/store.js';
import { localHotWrites } from './hot-writes.js';
import { SandboxProvider } from './providers/sandbox.js';
import { Runtime } from './runtime.js';
import { Worker } from './worker.js';

export interface WorkerThreadData {
  database: { kind: 'sqlite'; file: string; checkpoints?: Checkpoints; turns?: SharedArrayBuffer } | { kind: 'postgres'; url: string };
  ruleset: Ruleset;
  logLevel: string;
  sandboxSecret: string;
  receiptUrl: string;
  leaseMs: number;
  workerId: string;
}

/** A hot write the HTTP thread hands over (see HotWrites), answered by a `written` message. */
export type HotWrite = { kind: 'inbox'; rows: InboxTable[] } | { kind: 'receipts'; provider: string; receipts: Receipt[] };

/** Messages the HTTP thread sends: new work, a hot write, a newly published ruleset, stop. */
export type ToWorker =
  | { type: 'nudge' }
  | { type: 'write'; id: number; write: HotWrite }
  | { type: 'ruleset'; source: Ruleset }
  | { type: 'stop' };

/** Messages the worker thread sends back. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'written'; id: number; ok: true; result: Set<string> | Array<'applied' | 'parked'> }
  | { type: 'written'; id: number; ok: false; message: string };

/**
 * The longest a receipt batch waits for the worker to run out of events before it is applied
 * anyway. Event latency is what counts (a burst of events is applied first); receipts only report
 * and are applied together when they come.
 */
const RECEIPTS_DEFER_MS = 200;

async function run(data: WorkerThreadData): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('worker-thread.ts runs only as a worker thread');
  const log = createLogger(data.logLevel).child({ thread: 'worker' });
  const open =
    data.database.kind === 'sqlite'
      ? await openSqlite(data.database.file, {
          checkpoints: data.database.checkpoints ?? 'auto',
          ...(data.database.turns ? { turns: data.database.turns } : {}),
        })
      : await openPostgres(data.database.url);
  const store = new Store(open);
  let ruleset = loadRuleset(data.ruleset);
  const sandbox = new SandboxProvider({
    store,
    log,
    secret: data.sandboxSecret,
    receiptUrl: () => data.receiptUrl,
    now: () => systemClock.now().getTime(),
  });
  const runtime = new Runtime({
    store,
    ruleset: () => ruleset,
    providers: new Map([['sandbox', sandbox]]),
    clock: systemClock,
    log,
    workerId: data.workerId,
    leaseMs: data.leaseMs,
  });
  const worker = new Worker(runtime, log);
  const writes = localHotWrites(runtime);
  const reply = (m: FromWorker) => port.postMessage(m);
  const inFlight = new Set<Promise<void>>();
  const write = async (id: number, w: HotWrite) => {
    try {
      if (w.kind === 'inbox') {
        const ids = await writes.insertInbox(w.rows);
        reply({ type: 'written', id, ok: true, result: ids });
        if (ids.size > 0) worker.nudge();
      } else {
        // receipts only report: they wait for a gap between events (RECEIPTS_DEFER_MS at most)
        await worker.quiet(RECEIPTS_DEFER_MS);
        reply({ type: 'written', id, ok: true, result: await writes.receipts(w.provider, w.receipts) });
      }
    } catch (err) {
      reply({ type: 'written', id, ok: false, message: (err as Error).message });
    }
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'nudge') worker.nudge();
    else if (m.type === 'write') {
      const p = write(m.id, m.write).finally(() => inFlight.delete(p));
      inFlight.add(p);
    } else if (m.type === 'ruleset') ruleset = loadRuleset(m.source);
    else if (m.type === 'stop') {
      void (async () => {
        await worker.stop();
        await sandbox.drain();
        // writes handed over before the stop are answered before the store closes
        await Promise.all(inFlight);
        await store.close();
        reply({ type: 'stopped' });
        port.close();
      })();
    }
  });
  worker.start();
  reply({ type: 'ready' });
}

run(workerData as WorkerThreadData).catch((err: unknown) => {
  parentPort?.postMessage({ type: 'failed', message: (err as Error).message });
});
