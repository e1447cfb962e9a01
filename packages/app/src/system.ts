import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SCOPES, HubspotCrm, HubspotGateway } from '@signalbox/connectors';
import type { Express } from 'express';
import type { Clock } from './clock.js';
import type { ApiKey } from './config.js';
import { createApp, serve } from './http/app.js';
import { createMetrics } from './http/metrics.js';
import { ReplayGuard } from './http/replay-guard.js';
import { HubspotService } from './hubspot/service.js';
import { DbTokenStore, TokenCipher } from './hubspot/token-store.js';
import { uuidv7 } from './ids.js';
import type { Logger } from './logger.js';
import type { RulesHolder } from './rules-holder.js';
import { localHotWrites } from './runtime/hot-writes.js';
import type { ChannelProvider } from './runtime/providers/provider.js';
import { SandboxProvider, type SandboxRule } from './runtime/providers/sandbox.js';
import { Runtime } from './runtime/runtime.js';
import { ThreadWorker, type WorkerHandle } from './runtime/thread-worker.js';
import { Worker } from './runtime/worker.js';
import type { WorkerThreadData } from './runtime/worker-thread.js';
import type { Store } from './store/store.js';

export interface SystemOptions {
  store: Store;
  /** The active ruleset; publishing through the API swaps it. */
  rules: RulesHolder;
  clock: Clock;
  log: Logger;
  apiKeys: readonly ApiKey[];
  /** Secret the sandbox signs its receipts and inbound messages with. */
  sandboxSecret: string;
  sandboxRules?: SandboxRule[];
  extraProviders?: ChannelProvider[];
  extraProviderSecrets?: Record<string, string>;
  bodyLimit?: string;
  workerId?: string;
  leaseMs?: number;
  /**
   * Run the worker in its own thread with its own connection to this database (main.ts does);
   * without it the worker runs on this thread (tests drive it step by step).
   */
  workerThread?: { database: WorkerThreadData['database']; logLevel: string };
  /** The HubSpot app (credentials from the environment); without it the HubSpot routes are absent. */
  hubspot?: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    apiBase: string;
    tokenKey: Buffer;
    publicUrl?: string | undefined;
    rate?: { max: number; intervalMs: number };
    /** Shares the replay guard of signed requests across instances. */
    redisUrl?: string | undefined;
  };
}

export interface System {
  app: Express;
  runtime: Runtime;
  sandbox: SandboxProvider;
  worker: WorkerHandle;
  hubspot: HubspotService | null;
  hubspotGateway: HubspotGateway | null;
  /** Listens on host:port (0 = any free port); the sandbox posts receipts to this address. */
  listen(port: number, host?: string): Promise<{ server: Server; url: string }>;
  close(): Promise<void>;
}

/** The composition root: store, providers, runtime, worker and HTTP, wired once. */
export function createSystem(o: SystemOptions): System {
  let baseUrl: string | null = null;
  const sandbox = new SandboxProvider({
    store: o.store,
    log: o.log,
    secret: o.sandboxSecret,
    receiptUrl: () => (baseUrl === null ? null : `${baseUrl}/hooks/providers/sandbox/receipts`),
    now: () => o.clock.now().getTime(),
    ...(o.sandboxRules ? { rules: o.sandboxRules } : {}),
  });
  const providers = new Map<string, ChannelProvider>([['sandbox', sandbox]]);
  for (const p of o.extraProviders ?? []) providers.set(p.name, p);
  const runtime = new Runtime({
    store: o.store,
    ruleset: o.rules.get,
    providers,
    clock: o.clock,
    log: o.log,
    ...(o.workerId ? { workerId: o.workerId } : {}),
    ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
  });
  const wt = o.workerThread;
  const worker: WorkerHandle =
    wt === undefined
      ? new Worker(runtime, o.log)
      : new ThreadWorker(
          () => ({
            database: wt.database,
            ruleset: o.rules.get().source,
            logLevel: wt.logLevel,
            sandboxSecret: o.sandboxSecret,
            receiptUrl: `${baseUrl ?? 'http://127.0.0.1:0'}/hooks/providers/sandbox/receipts`,
            leaseMs: o.leaseMs ?? 60_000,
            workerId: o.workerId ?? `worker-${uuidv7()}`,
          }),
          o.log,
        );
  if (worker instanceof ThreadWorker) o.rules.onChange((rs) => worker.publish({ type: 'ruleset', source: rs.source }));
  // SQLite has one writer: ingest and receipts are written by the worker thread's connection
  const hotWrites =
    worker instanceof ThreadWorker && wt?.database.kind === 'sqlite' ? worker.hotWrites(localHotWrites(runtime)) : localHotWrites(runtime);
  const now = () => o.clock.now().getTime();
  let hubspot: HubspotService | null = null;
  let hubspotGateway: HubspotGateway | null = null;
  const replay = o.hubspot ? new ReplayGuard(10 * 60_000, o.hubspot.redisUrl) : null;
  if (o.hubspot !== undefined) {
    const h = o.hubspot;
    const tokens = new DbTokenStore(o.store, new TokenCipher(h.tokenKey), now);
    hubspotGateway = new HubspotGateway(
      { clientId: h.clientId, clientSecret: h.clientSecret, redirectUri: h.redirectUri, scopes: DEFAULT_SCOPES, basePath: h.apiBase },
      tokens,
      { now, ...(h.rate ? { rate: h.rate } : {}) },
    );
    hubspot = new HubspotService({
      store: o.store,
      runtime,
      crm: new HubspotCrm(hubspotGateway),
      tokens,
      ruleset: o.rules.get,
      log: o.log,
      now,
    });
  }
  const app = createApp({
    ruleset: o.rules.get,
    rules: o.rules,
    clock: o.clock,
    apiKeys: o.apiKeys,
    log: o.log,
    runtime,
    hotWrites,
    providerSecrets: { sandbox: o.sandboxSecret, ...(o.extraProviderSecrets ?? {}) },
    metrics: createMetrics(),
    ...(hubspot !== null && hubspotGateway !== null && o.hubspot !== undefined
      ? {
          hubspot: {
            service: hubspot,
            gateway: hubspotGateway,
            runtime,
            ruleset: o.rules.get,
            clientSecret: o.hubspot.clientSecret,
            publicUrl: o.hubspot.publicUrl,
            log: o.log,
            now,
            ...(replay ? { replay } : {}),
          },
        }
      : {}),
    ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}),
  });
  (app as unknown as NodeJS.EventEmitter).on('work', () => worker.nudge());
  let server: Server | null = null;
  return {
    app,
    runtime,
    sandbox,
    worker,
    hubspot,
    hubspotGateway,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve) => {
        server = createServer(serve(app)).listen(port, host, () => {
          const addr = server?.address() as AddressInfo;
          baseUrl = `http://${host}:${addr.port}`;
          resolve({ server: server as Server, url: baseUrl });
        });
      });
    },
    async close() {
      await hubspot?.stop();
      await replay?.close();
      await worker.stop();
      await sandbox.drain();
      if (server) await new Promise<void>((r) => server?.close(() => r()));
      await o.store.close();
    },
  };
}
