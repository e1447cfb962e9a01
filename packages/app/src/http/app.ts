import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { CompiledRuleset } from '@signalbox/engine';
import express, { type Express } from 'express';
import type { Clock } from '../clock.js';
import type { ApiKey } from '../config.js';
import type { Logger } from '../logger.js';
import type { RulesHolder } from '../rules-holder.js';
import { type HotWrites, localHotWrites } from '../runtime/hot-writes.js';
import type { Runtime } from '../runtime/runtime.js';
import { apiKeyAuth, apiKeyPrincipal } from './auth.js';
import { byteLimit, createIngest, INGEST_PATH, INGEST_ROLES } from './ingest.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { HttpProblem, problemHandler, sendProblem } from './problem.js';
import { decisionRoutes } from './routes/decisions.js';
import { type HubspotRouteDeps, hubspotRoutes } from './routes/hubspot.js';
import { providerHooks } from './routes/provider-hooks.js';
import { rulesRoutes } from './routes/rules.js';
import { runtimeRoutes } from './routes/runtime-api.js';

export interface AppDeps {
  ruleset: () => CompiledRuleset;
  clock: Clock;
  apiKeys: readonly ApiKey[];
  log: Logger;
  bodyLimit?: string;
  /** The durable runtime; without it only the decision preview is served. */
  runtime?: Runtime;
  /** Who makes ingest's and receipts' writes (default: the runtime, on this thread). */
  hotWrites?: HotWrites;
  /** Secrets providers sign their receipts and inbound messages with, by provider name. */
  providerSecrets?: Readonly<Record<string, string>>;
  metrics?: Metrics;
  /** Where the active ruleset lives; with it, admins can publish new versions over the API. */
  rules?: RulesHolder;
  /** The HubSpot app's routes (webhooks, workflow actions, card, install). */
  hubspot?: HubspotRouteDeps;
}

const fastPaths = new WeakMap<Express, (req: IncomingMessage, res: ServerResponse) => boolean>();

/**
 * The request listener for a server: the app's fast paths (event ingest) first, then Express.
 * `app.listen` would skip the fast paths; answers are the same either way.
 */
export function serve(app: Express): RequestListener {
  const fast = fastPaths.get(app);
  return fast === undefined ? app : (req, res) => fast(req, res) || app(req, res);
}

/** The HTTP surface. Every route but /healthz, /readyz, /metrics and /openapi.json is authenticated. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const auth = apiKeyAuth(deps.apiKeys);
  const metrics = deps.metrics ?? createMetrics();
  const now = () => deps.clock.now().getTime();

  app.use((req, res, next) => {
    res.on('finish', () =>
      metrics.httpRequests.inc({
        route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched',
        status: String(res.statusCode),
      }),
    );
    next();
  });

  const json = express.json({ limit: deps.bodyLimit ?? '256kb', type: ['application/json', 'application/*+json'] });
  // the hot path: served ahead of Express by `serve(app)`; what it hands over is answered here
  const hotWrites = deps.runtime === undefined ? undefined : (deps.hotWrites ?? localHotWrites(deps.runtime));
  if (deps.runtime !== undefined && hotWrites !== undefined) {
    const ingest = createIngest({
      writes: hotWrites,
      metrics,
      now,
      principal: apiKeyPrincipal(deps.apiKeys),
      bodyLimit: byteLimit(deps.bodyLimit ?? '256kb'),
      onWork: () => app.emit('work'),
      log: deps.log,
    });
    fastPaths.set(app, ingest.raw);
    app.post(INGEST_PATH, json, auth(INGEST_ROLES), ingest.express);
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ruleset: deps.ruleset().version });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.runtime?.store.ping();
      res.json({ status: 'ready', store: deps.runtime?.store.dialect ?? 'none' });
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'not ready');
      sendProblem(res, { title: 'Service unavailable', status: 503, detail: 'the store is not reachable', code: 'NOT_READY' });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });

  if (deps.runtime !== undefined && hotWrites !== undefined) {
    if (deps.hubspot !== undefined) app.use(hubspotRoutes(deps.hubspot));
    app.use('/hooks/providers', providerHooks(deps.runtime, hotWrites, deps.providerSecrets ?? {}, deps.log, metrics));
  }
  app.use('/api/v1', json);
  app.use('/api/v1/decisions', auth(['admin', 'agent', 'integration']), decisionRoutes(deps.ruleset, deps.clock));
  if (deps.runtime !== undefined && deps.rules !== undefined)
    app.use('/api/v1/rules', rulesRoutes(deps.rules, deps.runtime.store, auth, deps.clock));
  if (deps.runtime !== undefined) app.use('/api/v1', runtimeRoutes(deps.runtime, auth, metrics, now));

  app.use((req, _res, next) => {
    next(new HttpProblem(404, 'NOT_FOUND', 'Not found', `no route for ${req.method} ${req.path}`));
  });
  app.use(problemHandler(deps.log));
  return app;
}
