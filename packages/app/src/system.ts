import { createHmac } from 'node:crypto';
import { createServer, type RequestListener, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Limiters, LocalLimiters, RedisLimiters } from '@signalbox/connectors';
import type { ChannelProvider, CompiledRuleset } from '@signalbox/engine';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { sharedCache } from './cache/shared-cache.js';
import type { Clock } from './clock.js';
import type { ApiKey } from './config.js';
import type { HubspotApp, HubspotSettings } from './crm/hubspot/hubspot-app.js';
import type { SalesforceApp, SalesforceSettings } from './crm/salesforce/salesforce-app.js';
import { DryRuns } from './dry-run/dry-runs.js';
import { createApp, type ProviderRouteDeps, serve } from './http/app.js';
import { problemBody } from './http/problem.js';
import { providerRoutes } from './http/routes/providers/provider-routes.js';
import { uuidv7 } from './ids.js';
import { warningsThrottled } from './log-throttle.js';
import type { Logger } from './logger.js';
import { createMetrics, runtimeMetrics, storeGauges } from './metrics/metrics.js';
import type { ProviderSettings } from './providers/provider-settings.js';
import type { SandboxProvider, SandboxRule } from './providers/sandbox/sandbox-provider.js';
import { providerProblems } from './rules/provider-check.js';
import type { RulesHolder } from './rules/rules-holder.js';
import { RulesWatcher } from './rules/rules-watcher.js';
import type { Runtime } from './runtime.js';
import { keyGuessLimit } from './security/key-guesses.js';
import { KeyGuessesShared } from './security/key-guesses-shared.js';
import { ReplayGuard } from './security/replay-guard.js';
import { StoredMarks } from './security/stored-marks.js';
import type { Store } from './store/store.js';
import type { TracingSettings } from './tracing/start-tracing.js';
import { wire } from './wiring.js';
import type { WorkerHandle } from './worker/handle.js';
import { Worker } from './worker/loop.js';
import type { WorkerThreadData } from './worker/protocol.js';
import { ThreadHost } from './worker/thread-host.js';

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
  /** Providers besides the sandbox (given the sandbox, e.g. to wrap it, and the limiters their senders are paced by). */
  providers?: (sandbox: SandboxProvider, limiters: Limiters) => ChannelProvider[];
  /**
   * Redis (production): a connected client (the limiters own it from here) and where the worker
   * thread connects its own. Outbound limits are then shared by every instance, and readiness
   * includes Redis; without it each thread keeps its own limits.
   */
  redis?: { client: Redis; url: string; prefix: string };
  providerSecrets?: Record<string, string>;
  /** Real providers (Twilio, Telerivet, SMTP): built on each thread that sends; their hooks on this one. */
  providerSettings?: ProviderSettings | undefined;
  bodyLimit?: string;
  /** The instance this process is (its claims and leases carry it). */
  instanceId?: string;
  leaseMs?: number;
  /** Units of work a worker round runs side by side on PostgreSQL (WORKER_CONCURRENCY; the runtime's 4 when not given, main passes `defaultWorkerConcurrency()`). */
  workerConcurrency?: number;
  /**
   * Run the worker in its own thread with its own connection to this database (main.ts does);
   * without it the worker runs on this thread (tests drive it round by round).
   */
  workerThread?: { database: WorkerThreadData['database']; logLevel: string; tracing?: TracingSettings };
  /** The admin console at /admin: its built files and the secret its session cookies are signed with. */
  admin?: { dir: string; sessionSecret: string; secure?: boolean };
  /** The HubSpot app (credentials from the environment); without it the HubSpot routes are absent. */
  hubspot?: HubspotSettings & { publicUrl?: string | undefined };
  /** The Salesforce connected app (credentials from the environment); without it the Salesforce routes are absent. */
  salesforce?: SalesforceSettings;
  /** On shutdown, how long /readyz answers 503 before the server stops taking requests (load balancers notice). */
  shutdownDelayMs?: number;
  /** How long an idle keep-alive connection stays open (`HTTP_KEEP_ALIVE_MS`; Node's default, 5 s, when absent). */
  keepAliveMs?: number;
  /**
   * How long a request may take to arrive, headers and body (`HTTP_REQUEST_TIMEOUT_MS`; 30 s when
   * absent), and so how long a shutdown waits for the requests under way before it cuts them.
   */
  requestTimeoutMs?: number;
  /** Proxies whose X-Forwarded-For is believed (`TRUST_PROXY`, as Express reads it); none when absent. */
  trustProxy?: number | string;
}

export interface System {
  app: Express;
  runtime: Runtime;
  sandbox: SandboxProvider;
  worker: WorkerHandle;
  hubspot: HubspotApp | null;
  salesforce: SalesforceApp | null;
  /** Dry runs of rules changes (each in threads of its own). */
  dryRuns: DryRuns;
  /** Listens on host:port (0 = any free port); the sandbox posts receipts to this address. */
  listen(port: number, host?: string): Promise<{ server: Server; url: string }>;
  close(): Promise<void>;
}

/** How long a signed request's signature is remembered: longer than any scheme's accepted age. */
const REPLAY_WINDOW_MS = 10 * 60_000;
/** How long a request may take to arrive when `requestTimeoutMs` is not given. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The composition root: store, providers, runtime, worker and HTTP, wired once. */
export function createSystem(o: SystemOptions): System {
  let baseUrl: string | null = null;
  const receiptUrl = () => (baseUrl === null ? null : `${baseUrl}/hooks/providers/sandbox/receipts`);
  const owner = o.instanceId ?? `instance-${uuidv7()}`;
  const metrics = createMetrics({ instance: owner });
  const leaseMs = o.leaseMs ?? 60_000;
  const redisClient = o.redis?.client ?? null;
  const limiters = o.redis !== undefined ? new RedisLimiters({ client: o.redis.client, prefix: o.redis.prefix }) : new LocalLimiters();
  const { runtime, sandbox, providerNames, hubspot, salesforce, crmCalls, stopCrm } = wire({
    limiters,
    store: o.store,
    ruleset: o.rules.get,
    clock: o.clock,
    log: o.log,
    lease: { ms: leaseMs, owner },
    concurrency: o.workerConcurrency,
    sandbox: { secret: o.sandboxSecret, receiptUrl, rules: o.sandboxRules },
    ...(o.providers ? { providers: o.providers } : {}),
    providerSettings: o.providerSettings,
    publicUrl: () => baseUrl,
    hubspot: o.hubspot,
    salesforce: o.salesforce,
    metrics: runtimeMetrics(metrics),
  });
  // a ruleset that was active before this deployment lost a provider still runs: said at start and on every swap
  const checkProviders = (rs: CompiledRuleset) => {
    for (const p of providerProblems(rs.source, providerNames))
      o.log.warn({ path: p.path }, `the active ruleset: ${p.message}; its sends there will fail`);
  };
  checkProviders(o.rules.get());
  o.rules.onChange(checkProviders);
  const wt = o.workerThread;
  const host =
    wt === undefined
      ? null
      : new ThreadHost(
          () => ({
            database: wt.database,
            ruleset: o.rules.get().source,
            logLevel: wt.logLevel,
            sandboxSecret: o.sandboxSecret,
            receiptUrl: `${baseUrl ?? 'http://127.0.0.1:0'}/hooks/providers/sandbox/receipts`,
            leaseMs,
            ...(o.workerConcurrency !== undefined ? { concurrency: o.workerConcurrency } : {}),
            owner,
            // one process owns the SQLite file: every lease in it is this process's
            resumeAll: wt.database.kind === 'sqlite',
            crm: { hubspot: o.hubspot, salesforce: o.salesforce },
            ...(o.redis !== undefined ? { redis: { url: o.redis.url, prefix: o.redis.prefix } } : {}),
            providers: o.providerSettings,
            publicUrl: baseUrl ?? 'http://127.0.0.1:0',
            ...(wt.tracing !== undefined ? { tracing: wt.tracing } : {}),
          }),
          o.log,
        );
  // a starting worker takes back at once what its instance held when it stopped (one process owns
  // everything in a SQLite file)
  const worker: WorkerHandle =
    host ??
    new Worker(
      () => runtime.round(),
      o.log,
      50,
      () => runtime.resumeOwnClaims(o.store.dialect === 'sqlite' ? '*' : owner),
    );
  if (host !== null) o.rules.onChange((rs) => host.publish({ type: 'ruleset', source: rs.source }));
  // SQLite has one writer: ingest and receipts are written by the worker thread's connection
  const hotWrites = host !== null && wt?.database.kind === 'sqlite' ? host.hotWrites(runtime.hotWrites) : runtime.hotWrites;
  storeGauges(metrics, {
    backlog: () => o.store.inbox.backlog(),
    timersDue: () => o.store.timers.dueCount(o.clock.now().getTime()),
    deadLetters: () => o.store.inbox.deadCount(),
  });
  const now = () => o.clock.now().getTime();
  let draining = false;
  // several instances on PostgreSQL: a version published on one becomes active on all (NOTIFY, and a poll)
  const watcher =
    o.store.dialect === 'postgres'
      ? new RulesWatcher({
          store: o.store,
          holder: o.rules,
          log: o.log,
          listen: o.store.listen ?? null,
        })
      : null;
  const calls = host !== null ? host.crmCalls(crmCalls) : crmCalls;
  // an OAuth state is good once on every instance
  // (and a signed-out console session stays signed out): on Redis where there is one, else in the
  // store, so a restart does not forget them and every instance sharing the database knows them
  const usedStates =
    o.redis !== undefined
      ? sharedCache({ redis: o.redis, namespace: 'oauth-states', log: o.log })
      : new StoredMarks(o.store.seenSignatures, 'oauth-states');
  const dryRuns = new DryRuns({ repo: () => o.store.dryRuns, location: o.store.location, clock: o.clock, log: o.log });
  // wrong API keys are counted by every instance sharing the database together (NOTIFY), so N
  // instances do not allow N times the guesses; by the wall clock, as the limit counts them. Keyed
  // by a secret every instance has (derived from the sandbox's, which they must share)
  const warnings = warningsThrottled(o.log);
  const guessSecret = createHmac('sha256', o.sandboxSecret).update('signalbox key guesses').digest();
  const guessesShared =
    o.store.listen !== null && o.store.notify !== null
      ? new KeyGuessesShared({
          listen: o.store.listen,
          notify: o.store.notify,
          instance: owner,
          secret: guessSecret,
          log: warnings,
          now: () => Date.now(),
        })
      : null;
  const keyGuesses = keyGuessLimit({
    log: warnings,
    secret: guessSecret,
    ...(guessesShared !== null ? { share: (f) => guessesShared.tell(f) } : {}),
  });
  const app = createApp({
    draining: () => draining,
    instance: owner,
    ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
    ...(redisClient !== null ? { dependencies: { redis: () => redisClient.ping() } } : {}),
    usedStates,
    keyGuesses,
    dryRuns,
    ...(o.admin !== undefined ? { admin: o.admin } : {}),
    ruleset: o.rules.get,
    rules: o.rules,
    providers: providerNames,
    clock: o.clock,
    apiKeys: o.apiKeys,
    log: o.log,
    runtime,
    hotWrites,
    providerSecrets: { sandbox: o.sandboxSecret, ...(o.providerSecrets ?? {}) },
    ...(o.providerSettings !== undefined
      ? {
          providerRoutes: (d: ProviderRouteDeps) =>
            providerRoutes(
              {
                ...(o.providerSettings as ProviderSettings),
                publicUrl: () => o.providerSettings?.publicUrl ?? baseUrl ?? 'http://127.0.0.1',
              },
              d,
            ),
        }
      : {}),
    metrics,
    threadMetrics: () => host?.metrics() ?? Promise.resolve(null),
    replay: new ReplayGuard(o.store.seenSignatures, REPLAY_WINDOW_MS),
    ...(hubspot !== null && o.hubspot !== undefined
      ? {
          hubspot: {
            app: hubspot,
            calls,
            clientSecret: o.hubspot.clientSecret,
            publicUrl: o.hubspot.publicUrl,
            now,
          },
        }
      : {}),
    ...(salesforce !== null && o.salesforce !== undefined
      ? { salesforce: { app: salesforce, calls, clientSecret: o.salesforce.clientSecret, now } }
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
    salesforce,
    dryRuns,
    async listen(port, host = '127.0.0.1') {
      // the schema notifications name is the one the database resolves to (`current_schema()`, which
      // `notify` writes): a role's own search_path, or one in the URL, is not the configured name
      const schema = o.store.currentSchema !== null ? await o.store.currentSchema() : undefined;
      await watcher?.start(schema);
      await guessesShared?.start(keyGuesses, schema ?? 'public');
      return new Promise((resolve, reject) => {
        const requestTimeout = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
        // Node checks the timeouts every connectionsCheckingInterval (30 s by default): often enough here
        // that a request is cut close to its limit
        server = createServer(
          { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(5_000, Math.ceil(requestTimeout / 4)) },
          drainingCloses(serve(app), () => draining),
        );
        server.on('clientError', answerClientError);
        if (o.keepAliveMs !== undefined) server.keepAliveTimeout = o.keepAliveMs;
        // a port in use, an address not this machine's, a host name that resolves to nothing: said
        // in one line by whoever started us, not thrown as an unhandled 'error' event
        const refused = (err: NodeJS.ErrnoException) => {
          const why =
            err.code === 'EADDRINUSE'
              ? 'the port is in use'
              : err.code === 'EADDRNOTAVAIL'
                ? 'the address is not one of this machine’s'
                : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
                  ? 'the host name does not resolve'
                  : err.code === 'EACCES'
                    ? 'not allowed to listen there (a port below 1024 needs privileges)'
                    : err.message;
          reject(new Error(`cannot listen on ${host}:${port} (HOST, PORT): ${why}${err.code ? ` (${err.code})` : ''}`));
        };
        server.once('error', refused);
        server.listen(port, host, () => {
          // listening: a later error of the server (EMFILE on accept) is logged, never thrown
          server?.off('error', refused);
          server?.on('error', (err) => o.log.error({ err: err.message }, 'HTTP server error'));
          const addr = server?.address() as AddressInfo;
          baseUrl = `http://${host}:${addr.port}`;
          resolve({ server: server as Server, url: baseUrl });
        });
      });
    },
    async close() {
      // readiness goes first; the server stops taking requests once the work under way is done
      draining = true;
      if ((o.shutdownDelayMs ?? 0) > 0) await new Promise((r) => setTimeout(r, o.shutdownDelayMs));
      // connections still open once requests have had their time are cut (a client trickling its body;
      // a request still being answered that long after, too)
      const cut = setTimeout(() => server?.closeAllConnections(), o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
      await watcher?.stop();
      await guessesShared?.stop();
      await dryRuns.stop();
      // the worker finishes the round it is in, then takes nothing more
      await worker.stop();
      await runtime.stop();
      await stopCrm();
      // the sandbox posts its last receipts to this server (the worker thread's were posted as it
      // stopped): it closes after them, or they would be refused and the sends left without them
      await sandbox.drain();
      // a connection busy now would otherwise stay open, idle, for the whole keep-alive time once
      // its response is done (Node reads the timeout as each response finishes). Not before: idle
      // connections closed while the sandbox still posted would race its reuse of them
      if (server !== null) server.keepAliveTimeout = 1;
      const closed = server === null ? Promise.resolve() : new Promise<void>((r) => server?.close(() => r()));
      server?.closeIdleConnections();
      // what this instance still holds (leased sends, claimed timers) is free for the others now
      if (o.store.dialect === 'postgres') {
        const released = await runtime.resumeOwnClaims(owner).catch(() => 0);
        if (released > 0) o.log.info({ released }, 'claims released for the other instances');
      }
      await closed;
      clearTimeout(cut);
      // after the last request: a console request still answering reads signed-out sessions from it
      if ('disconnect' in usedStates) await usedStates.disconnect().catch(() => undefined);
      await o.store.close();
    },
  };
}

/**
 * What Node answers itself (headers over 16 KB, a request that took too long to arrive, bytes that
 * are not HTTP) as problem+json with a stable code, like every other refusal: Node's own answer
 * has no body at all. Nothing is written once a response has begun.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const begun = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || begun) {
    socket.destroy();
    return;
  }
  const [status, code, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the server takes (16 KB in all)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : [400, 'REQUEST_MALFORMED', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(problemBody({ status, code, detail }));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Once the instance drains, every request arriving is answered with `Connection: close`, and its connection closes after
 * it: a client (a load balancer) holding a keep-alive connection opens its next request elsewhere
 * instead of sending it on a connection the server is about to close (ECONNRESET, the request
 * lost in flight).
 */
function drainingCloses(listener: RequestListener, draining: () => boolean): RequestListener {
  return (req, res) => {
    if (draining()) res.setHeader('connection', 'close');
    listener(req, res);
  };
}
