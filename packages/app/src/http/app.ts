import type { CompiledRuleset } from '@signalbox/engine';
import express, { type Express } from 'express';
import type { Clock } from '../clock.js';
import type { ApiKey } from '../config.js';
import type { Logger } from '../logger.js';
import { apiKeyAuth } from './auth.js';
import { HttpProblem, problemHandler } from './problem.js';
import { decisionRoutes } from './routes/decisions.js';

export interface AppDeps {
  ruleset: () => CompiledRuleset;
  clock: Clock;
  apiKeys: readonly ApiKey[];
  log: Logger;
  bodyLimit?: string;
}

/** The HTTP surface. Every route but /healthz is authenticated. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const auth = apiKeyAuth(deps.apiKeys);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ruleset: deps.ruleset().version });
  });

  app.use('/api/v1', express.json({ limit: deps.bodyLimit ?? '256kb', type: ['application/json', 'application/*+json'] }));
  app.use('/api/v1/decisions', auth(['admin', 'agent', 'integration']), decisionRoutes(deps.ruleset, deps.clock));

  app.use((req, _res, next) => {
    next(new HttpProblem(404, 'NOT_FOUND', 'Not found', `no route for ${req.method} ${req.path}`));
  });
  app.use(problemHandler(deps.log));
  return app;
}
