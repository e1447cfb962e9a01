/**
 * The worker's own thread (embedded and production profiles started by main.ts). better-sqlite3
 * is synchronous: a worker on the HTTP thread would hold every request behind the statements of
 * the event it is applying. Here it has its own event loop, its own database connection (SQLite
 * WAL: readers never wait, writers take turns), its own providers (the sandbox posts receipts
 * back to the HTTP thread over real HTTP) and its own CRM gateways: it makes the CRM calls of the
 * whole process, so each portal has one limiter.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RedisLimiters } from '@signalbox/connectors';
import { loadRuleset } from '@signalbox/engine';
import { systemClock } from '../clock.js';
import { type CallError, type CrmCalls, toCallError } from '../crm/crm-calls.js';
import type { OpenDatabase } from '../db/connection.js';
import { openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { createMetrics, runtimeMetrics } from '../metrics/metrics.js';
import { connectRedis } from '../redis/connect-redis.js';
import { Store } from '../store/store.js';
import { wire } from '../wiring.js';
import { Worker } from './loop.js';
import type { FromWorker, HotWrite, ToWorker, WorkerThreadData } from './protocol.js';

/**
 * The longest a receipt batch waits for the worker to run out of events before it is applied
 * anyway. Event latency is what counts (a burst of events is applied first); receipts only report
 * and are applied together when they come.
 */
const RECEIPTS_DEFER_MS = 200;

async function run(data: WorkerThreadData): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('thread-entry.ts runs only as a worker thread');
  const log = createLogger(data.logLevel).child({ thread: 'worker' });
  const tracing = data.tracing !== undefined ? (await import('../tracing/start-tracing.js')).startTracing(data.tracing) : null;
  const open: OpenDatabase =
    data.database.kind === 'sqlite'
      ? await openSqlite(data.database.file, {
          checkpoints: data.database.checkpoints ?? 'auto',
          ...(data.database.turns ? { turns: data.database.turns } : {}),
        })
      : await openPostgres(data.database.url, {
          migrations: 'verify',
          ...(data.database.namedStatements === false ? { namedStatements: false } : {}),
          ...(data.database.upkeep !== undefined ? { upkeep: data.database.upkeep } : {}),
          ...(data.database.connectTimeoutMs !== undefined ? { connectTimeoutMs: data.database.connectTimeoutMs } : {}),
          ...(data.database.queryTimeoutMs !== undefined ? { queryTimeoutMs: data.database.queryTimeoutMs } : {}),
          onConnectionError: (err) => log.warn({ err: err.message }, 'database connection lost (another is opened when needed)'),
        });
  const store = new Store(open);
  let ruleset = loadRuleset(data.ruleset);
  const metrics = createMetrics({ withDefaults: false, instance: data.owner });
  const limiters =
    data.redis === undefined
      ? undefined
      : new RedisLimiters({
          client: await connectRedis(data.redis.url, (err) => log.warn({ err }, 'redis')),
          prefix: data.redis.prefix,
        });
  const { runtime, sandbox, crmCalls, stopCrm } = wire({
    ...(limiters !== undefined ? { limiters } : {}),
    store,
    ruleset: () => ruleset,
    clock: systemClock,
    log,
    lease: { ms: data.leaseMs, owner: data.owner },
    concurrency: data.concurrency,
    sandbox: { secret: data.sandboxSecret, receiptUrl: () => data.receiptUrl },
    providerSettings: data.providers,
    publicUrl: () => data.publicUrl,
    hubspot: data.crm.hubspot,
    salesforce: data.crm.salesforce,
    metrics: runtimeMetrics(metrics),
  });
  // what this instance held when it stopped is taken back now, not when its leases run out
  const resumed = await runtime.resumeOwnClaims(data.resumeAll ? '*' : data.owner);
  if (resumed > 0) log.info({ resumed }, 'claims of the last run taken back');
  const worker = new Worker(() => runtime.round(), log);
  const writes = runtime.hotWrites;
  const reply = (m: FromWorker) => port.postMessage(m);
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const t = p.finally(() => inFlight.delete(t));
    inFlight.add(t);
  };
  const write = async (id: number, w: HotWrite) => {
    try {
      if (w.kind === 'inbox') {
        const results = await writes.acceptInbox(w.requests);
        reply({ type: 'written', id, ok: true, result: results });
        if (results.some((r) => r.inserted.size > 0)) worker.nudge();
      } else {
        // receipts only report: they wait for a gap between events (RECEIPTS_DEFER_MS at most)
        await worker.quiet(RECEIPTS_DEFER_MS);
        reply({ type: 'written', id, ok: true, result: await writes.receipts(w.provider, w.receipts) });
      }
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      reply({ type: 'written', id, ok: false, message: (err as Error).message, ...(typeof code === 'string' ? { code } : {}) });
    }
  };
  const call = async (id: number, name: keyof CrmCalls, args: unknown[]) => {
    try {
      const fn = crmCalls[name] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn(...args);
      reply({ type: 'called', id, ok: true, result });
      worker.nudge();
    } catch (err) {
      const error: CallError = toCallError(err);
      reply({ type: 'called', id, ok: false, error });
    }
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'nudge') worker.nudge();
    else if (m.type === 'write') track(write(m.id, m.write));
    else if (m.type === 'call') track(call(m.id, m.name, m.args));
    else if (m.type === 'ruleset') ruleset = loadRuleset(m.source);
    else if (m.type === 'metrics')
      void metrics.registry.getMetricsAsJSON().then((json) => reply({ type: 'metrics', id: m.id, metrics: json }));
    else if (m.type === 'stop') {
      void (async () => {
        await worker.stop();
        await runtime.stop();
        await stopCrm();
        await sandbox.drain();
        // writes handed over before the stop are answered before the store closes
        await Promise.all(inFlight);
        await store.close();
        await tracing?.shutdown().catch(() => undefined);
        reply({ type: 'stopped' });
        port.close();
      })();
    }
  });
  worker.start();
  reply({ type: 'ready' });
}

run(workerData as WorkerThreadData).catch((err: unknown) => {
  parentPort?.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromWorker);
});
