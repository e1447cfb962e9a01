import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type CompiledRuleset, pointerSegment } from '@signalbox/engine';
import express, { type Express, type RequestHandler } from 'express';
import { Keyv } from 'keyv';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { ConsoleSessions, SignedOut } from '../admin/sessions.js';
import type { Clock } from '../clock.js';
import type { ApiKey } from '../config.js';
import { DryRuns } from '../dry-run/dry-runs.js';
import { AppError, InputError, NotFoundError } from '../errors.js';
import type { HotWrites } from '../inbox/hot-writes.js';
import { InboxWriter } from '../inbox/inbox-writer.js';
import { warningsThrottled } from '../log-throttle.js';
import type { Logger } from '../logger.js';
import { exposition, type Metrics } from '../metrics/metrics.js';
import { RulesGovernance } from '../rules/governance.js';
import type { RulesHolder } from '../rules/rules-holder.js';
import type { Runtime } from '../runtime.js';
import { type KeyGuesses, keyGuessLimit } from '../security/key-guesses.js';
import type { ReplayGuard } from '../security/replay-guard.js';
import { apiKeyAuth, apiKeyPrincipal } from './auth.js';
import { jsonBody, rawBody } from './body.js';
import { clientAddressOf, type TrustProxy } from './client-address.js';
import { byteLimit, type FastPath } from './fast-path.js';
import { createIngest } from './ingest.js';
import type { UsedStates } from './oauth-state.js';
import { openApiDocument } from './openapi.js';
import { problemBody, problemHandler, sendProblem } from './problem.js';
import { type RouteSpec, RouteTable } from './route-table.js';
import { adminAssets, adminRoutes, consoleSessionAuth } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { contactRoutes } from './routes/contacts.js';
import { decisionRoutes } from './routes/decisions.js';
import { dryRunRoutes } from './routes/dry-runs.js';
import { type HubspotRouteDeps, hubspotRoutes } from './routes/hubspot.js';
import { inboxRoutes } from './routes/inbox.js';
import { journeyRoutes } from './routes/journeys.js';
import { listRoutes } from './routes/lists.js';
import { messageRoutes } from './routes/messages.js';
import { providerHookRoutes } from './routes/provider-hooks.js';
import { reportRoutes } from './routes/reports.js';
import { rulesRoutes } from './routes/rules.js';
import { type SalesforceRouteDeps, salesforceRoutes } from './routes/salesforce.js';
import { templateRoutes } from './routes/templates.js';

/** What the real providers' hooks are given to answer with (HTTP carries them; the providers own them). */
export interface ProviderRouteDeps {
  runtime: Runtime;
  ruleset: () => CompiledRuleset;
  writes: HotWrites;
  replay: ReplayGuard;
  log: Logger;
  now: () => number;
  nudge: () => void;
}

export interface AppDeps {
  /** Proxies whose X-Forwarded-For is believed (`TRUST_PROXY`: hops, `loopback`, addresses); none when absent. */
  trustProxy?: number | string;
  ruleset: () => CompiledRuleset;
  rules: RulesHolder;
  /** The providers this deployment sends through, by name: a ruleset naming another is refused at publish (unchecked when absent). */
  providers?: ReadonlySet<string>;
  clock: Clock;
  apiKeys: readonly ApiKey[];
  log: Logger;
  bodyLimit?: string;
  runtime: Runtime;
  /** Who makes ingest's and receipts' writes (default: the runtime, on this thread). */
  hotWrites?: HotWrites;
  /** Secrets providers sign their receipts and inbound messages with, by provider name. */
  providerSecrets: Readonly<Record<string, string>>;
  /** Real providers' hooks (Twilio, Telerivet, email): their secrets, and the public URL their signatures cover. */
  /** The real providers' hooks (Twilio, Telerivet, email), built by the composition root with these services. */
  providerRoutes?: (d: ProviderRouteDeps) => RouteSpec[];
  metrics: Metrics;
  /** Other threads' metrics (the worker thread's), merged into /metrics. */
  threadMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[] | null>;
  replay: ReplayGuard;
  /** True once the instance is shutting down: /readyz answers 503 first, so traffic moves away. */
  draining?: () => boolean;
  /** This instance's id (INSTANCE_ID), named by /healthz and /readyz: behind one address, which one answered. */
  instance?: string;
  /** What else the instance needs to work (Redis in production), by name: /readyz answers 503 while one fails. */
  dependencies?: Readonly<Record<string, () => Promise<unknown>>>;
  /** The admin console: its built files, the secret its session cookies are signed with, whether cookies are Secure. */
  admin?: { dir: string; sessionSecret: string; secure?: boolean };
  /** Dry runs of rules changes (in threads of their own). */
  dryRuns?: DryRuns;
  /** The HubSpot app's routes (webhooks, workflow actions, card, install). */
  hubspot?: Omit<HubspotRouteDeps, 'ruleset' | 'usedStates'>;
  /** The Salesforce app's routes (Outbound Messages, record panel, connecting an org). */
  salesforce?: Omit<SalesforceRouteDeps, 'usedStates'>;
  /** API keys guessed wrong per address (default: keyGuessLimit, counted by this app alone; the system shares its own). */
  keyGuesses?: KeyGuesses;
  /** OAuth states used (keyv: shared through Redis in production); default: in this process. */
  usedStates?: UsedStates;
}

const fastPaths = new WeakMap<Express, FastPath[]>();

/**
 * Where a URL carries a NUL (`%00`): `/path`, or `/query/<name>` of the first parameter holding
 * one; null when none does. PostgreSQL cannot compare text with a NUL at all (every such lookup
 * answered 500); no id, name or filter of ours contains one.
 */
export function nulInUrl(url: string): string | null {
  if (!url.includes('%00')) return null;
  const q = url.indexOf('?');
  if (url.slice(0, q < 0 ? undefined : q).includes('%00')) return '/path';
  for (const [k, v] of new URLSearchParams(url.slice(q + 1)))
    if (k.includes('\u0000') || v.includes('\u0000')) return `/query/${pointerSegment(k.replaceAll('\u0000', ''))}`;
  return null;
}

/**
 * The request listener for a server: the app's fast paths (event ingest, HubSpot deliveries) first,
 * then Express. `app.listen` would skip the fast paths; answers are the same either way.
 */
export function serve(app: Express): RequestListener {
  const fast = fastPaths.get(app) ?? [];
  return fast.length === 0 ? app : (req: IncomingMessage, res: ServerResponse) => fast.some((f) => f.take(req, res)) || app(req, res);
}

/** The HTTP surface: one route table, mounted and described from the same specs. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // the client's address (req.ip: sign-in limits) from X-Forwarded-For only as set proxies say it
  app.set('trust proxy', deps.trustProxy ?? false);
  const now = () => deps.clock.now().getTime();
  const sessions = deps.admin !== undefined ? new ConsoleSessions(deps.admin.sessionSecret) : null;
  const usedStates = deps.usedStates ?? new Keyv();
  const signedOut = new SignedOut(usedStates);
  // keys guessed wrong, per address, by the wall clock: API requests and console sign-ins count alike
  // what anyone on the network can make us warn about (bad signatures, replays, /readyz while the
  // database is away, addresses refused keys) is written once per 10 s per kind, the rest counted
  const log = warningsThrottled(deps.log);
  const keyGuesses = deps.keyGuesses ?? keyGuessLimit({ log });
  const trust = app.get('trust proxy fn') as TrustProxy;
  // sessions expire by the wall clock (a test clock moving days ahead must not sign anyone out)
  const auth = apiKeyAuth(
    deps.apiKeys,
    sessions !== null ? consoleSessionAuth({ sessions, keys: deps.apiKeys, signedOut, now: () => Date.now() }) : undefined,
    { keys: keyGuesses, now: () => Date.now() },
  );
  const metrics = deps.metrics;
  const limit = deps.bodyLimit ?? '256kb';
  const nudge = () => app.emit('work');
  const hotWrites = deps.hotWrites ?? deps.runtime.hotWrites;
  const inbox = new InboxWriter(hotWrites);
  const table = new RouteTable();
  // the providers this deployment sends through: a ruleset naming another is refused at publish
  const governance = new RulesGovernance(deps.rules, deps.clock, deps.providers);
  const fast: FastPath[] = [];

  const ingest = createIngest({
    inbox,
    metrics,
    now,
    principal: apiKeyPrincipal(deps.apiKeys),
    // an address being refused keys is answered by the checked route (429 there), as one with a bad key is
    keysRefused: (req) => keyGuesses.tracking(Date.now()) && keyGuesses.retryAfter(clientAddressOf(req, trust), Date.now()) > 0,
    bodyLimit: byteLimit(limit),
    onWork: nudge,
    log,
  });
  fast.push(ingest.fast);
  table.add(
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      tags: ['system'],
      security: 'none',
      responses: { 200: '{status, ruleset, instance}' },
      handler: (_req, res) => {
        res.json({ status: 'ok', ruleset: deps.ruleset().version, ...(deps.instance !== undefined ? { instance: deps.instance } : {}) });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the store (and Redis, where configured) is reachable and the instance is not shutting down',
      tags: ['system'],
      security: 'none',
      responses: { 200: '{status, store, instance}', 503: 'not ready (the store or Redis is unreachable, or the instance is draining)' },
      handler: async (_req, res) => {
        if (deps.draining?.() === true) {
          sendProblem(res, problemBody({ status: 503, detail: 'this instance is shutting down', code: 'DRAINING' }));
          return;
        }
        // every dependency at once, each within READY_CHECK_MS: the answer comes within a second
        const checks = [
          { name: 'the store', detail: 'the store is not reachable', ping: () => deps.runtime.store.ping() },
          ...Object.entries(deps.dependencies ?? {}).map(([name, ping]) => ({ name, detail: `${name} is not reachable`, ping })),
        ];
        const results = await Promise.allSettled(checks.map((c) => answersWithin(c.ping(), READY_CHECK_MS, c.name)));
        const down = results.findIndex((r) => r.status === 'rejected');
        if (down >= 0) {
          const c = checks[down] as (typeof checks)[number];
          const r = results[down] as PromiseRejectedResult;
          log.warn({ dependency: c.name, err: (r.reason as Error).message }, 'not ready');
          sendProblem(res, problemBody({ status: 503, detail: c.detail, code: 'NOT_READY' }));
          return;
        }
        res.json({
          status: 'ready',
          store: deps.runtime.store.dialect,
          ...(deps.instance !== undefined ? { instance: deps.instance } : {}),
          ...Object.fromEntries(Object.keys(deps.dependencies ?? {}).map((n) => [n, 'ok'])),
        });
      },
    },
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (this process, its worker thread included): an admin key or a metrics key (Bearer)',
      tags: ['system'],
      security: 'apiKey',
      roles: ['admin', 'metrics'],
      responses: { 200: 'Prometheus text exposition format' },
      produces: 'text/plain; version=0.0.4',
      handler: async (_req, res) => {
        const other = (await deps.threadMetrics?.()) ?? null;
        res.type(metrics.registry.contentType).send(await exposition(metrics, other === null ? [] : [other]));
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This description',
      tags: ['system'],
      security: 'none',
      responses: { 200: 'OpenAPI 3.1' },
      handler: (_req, res) => {
        res.json(openApiDocument(table.routes));
      },
    },
    ingest.route,
    ...decisionRoutes(deps.ruleset, deps.clock, deps.runtime.content, deps.runtime.store),
    ...templateRoutes(deps.ruleset, deps.runtime.content),
    ...messageRoutes(deps.runtime, now, nudge),
    ...contactRoutes(deps.runtime, now, deps.ruleset),
    ...reportRoutes(deps.runtime),
    ...inboxRoutes(deps.runtime, nudge),
    ...rulesRoutes({ rules: deps.rules, governance, store: deps.runtime.store }),
    ...auditRoutes(deps.runtime.store),
    ...listRoutes(deps.runtime),
    ...journeyRoutes({ runtime: deps.runtime, governance, store: deps.runtime.store, now }),
    ...dryRunRoutes({
      governance,
      store: deps.runtime.store,
      dryRuns:
        deps.dryRuns ??
        new DryRuns({ repo: () => deps.runtime.store.dryRuns, location: deps.runtime.store.location, clock: deps.clock, log: deps.log }),
      now,
    }),
    ...providerHookRoutes({
      runtime: deps.runtime,
      ruleset: deps.ruleset,
      writes: hotWrites,
      secrets: deps.providerSecrets,
      replay: deps.replay,
      log,
      metrics,
      nudge,
    }),
    ...(deps.providerRoutes?.({
      runtime: deps.runtime,
      ruleset: deps.ruleset,
      writes: hotWrites,
      replay: deps.replay,
      log,
      now,
      nudge,
    }) ?? []),
  );
  if (deps.admin !== undefined && sessions !== null) {
    table.add(
      ...adminRoutes({
        keys: deps.apiKeys,
        sessions,
        audit: deps.runtime.store.audit,
        // sessions expire by the wall clock (a test clock moving days ahead must not sign anyone out)
        now: () => Date.now(),
        dir: deps.admin.dir,
        secure: deps.admin.secure ?? false,
        signedOut,
        keyGuesses,
      }),
    );
    app.use('/admin/assets', ...adminAssets(deps.admin.dir));
  }
  if (deps.hubspot !== undefined) {
    const hs = hubspotRoutes({
      ...deps.hubspot,
      usedStates,
      ruleset: deps.ruleset,
      runtime: deps.runtime,
      inbox,
      replay: deps.replay,
      metrics,
      log,
      nudge,
      bodyLimit: byteLimit('1mb'),
    });
    table.add(...hs.routes);
    fast.push(hs.fast);
  }
  if (deps.salesforce !== undefined) {
    const sf = salesforceRoutes({
      ...deps.salesforce,
      usedStates,
      ruleset: deps.ruleset,
      runtime: deps.runtime,
      inbox,
      metrics,
      log,
      nudge,
    });
    table.add(...sf.routes);
    fast.push(sf.fast);
  }

  // every request counted by its route's full template (a request no route matched: "(none)")
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? '(none)';
      metrics.httpRequests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.httpDuration.observe({ route, method: req.method }, (performance.now() - t0) / 1000);
    });
    next();
  });
  app.use((req, res, next) => {
    // answers are JSON (or the console's own types): never sniffed as something else
    res.set('X-Content-Type-Options', 'nosniff');
    const bad = nulInUrl(req.url);
    if (bad !== null) {
      next(
        new InputError('the URL holds a NUL (%00), which no id, name or filter can contain', [
          { path: bad, message: 'must not contain NUL (%00)' },
        ]),
      );
      return;
    }
    next();
  });
  const json = jsonBody(limit);
  const raw1mb = rawBody('1mb');
  table.mount(app, (r): RequestHandler[] => [
    ...(r.security === 'apiKey' && r.roles ? [auth(r.roles)] : []),
    ...(typeof r.rawBody === 'object' ? [rawBody(r.rawBody.limit)] : r.rawBody ? [raw1mb] : r.method === 'get' ? [] : json),
  ]);
  app.use((req, res, next) => {
    // a path some route serves, asked with another method: 405 with what it takes (OPTIONS: just that)
    const allowed = table.methodsAt(req.path);
    if (allowed.length === 0) {
      next(new NotFoundError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
      return;
    }
    res.set('Allow', [...allowed, 'OPTIONS'].join(', '));
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next(new AppError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not served at ${req.path} (it takes ${allowed.join(', ')})`));
  });
  app.use(problemHandler(log, (path) => table.paramAt(path)));
  fastPaths.set(app, fast);
  return app;
}

/**
 * How long /readyz waits for each dependency: a database or Redis that hangs is "not ready" in
 * time for a probe (Kubernetes waits 1 s by default), not a probe that times out itself.
 */
const READY_CHECK_MS = 900;

async function answersWithin(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p,
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
