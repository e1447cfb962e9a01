import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { RulesetInvalidError } from '@signalbox/engine';
import { assertSharedSecrets, localSecret, resolveApiKeys } from './api-keys.js';
import { systemClock } from './clock.js';
import { ConfigError, invocationDir, loadConfig } from './config.js';
import { isConnectionLoss } from './db/connection-loss.js';
import { MigrationsPendingError, openPostgres } from './db/postgres.js';
import { openSqlite } from './db/sqlite.js';
import { createLogger, type Logger } from './logger.js';
import { configuredProviders, providerSettingsFrom } from './providers/provider-settings.js';
import { connectRedis } from './redis/connect-redis.js';
import { RulesHolder } from './rules/rules-holder.js';
import { JsonFileError, loadRulesetFile } from './rules/ruleset-source.js';
import { defaultWorkerConcurrency } from './runtime.js';
import { Store } from './store/store.js';
import { createSystem } from './system.js';
import { FROM_SOURCE } from './threads.js';

/** Why PostgreSQL could not be opened, naming the variable and where it points (never its password). */
function unreachableDatabase(url: string, err: unknown): string {
  let where = 'an address that is not a valid URL';
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // the message says so
  }
  return `PostgreSQL at DATABASE_URL (${where}) could not be opened: ${(err as Error).message}`;
}

function fail(message: string): never {
  process.stderr.write(`signalbox: ${message}\n`);
  process.exit(1);
}

/**
 * Where the admin console's built files are. From the sources they are built on first start (and
 * after its sources change); compiled, `pnpm build` has built them.
 */
async function adminConsole(log: Logger): Promise<string> {
  if (!FROM_SOURCE) return join(dirname(createRequire(import.meta.url).resolve('@signalbox/admin-ui/package.json')), 'dist');
  const { ADMIN_UI_DIST, ensureAdminUi } = await import('@signalbox/admin-ui/build');
  await ensureAdminUi().catch((e: unknown) =>
    log.warn({ err: (e as Error).message }, 'the admin console could not be built; /admin answers 503'),
  );
  return ADMIN_UI_DIST;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const instanceId = config.INSTANCE_ID ?? (config.DATABASE_URL === undefined ? 'embedded' : `${hostname()}:${process.pid}`);
  const tracingSettings =
    config.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined
      ? { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME, instance: instanceId }
      : undefined;
  // the SDK is loaded only when tracing is on
  const tracing = tracingSettings !== undefined ? (await import('./tracing/start-tracing.js')).startTracing(tracingSettings) : null;
  const ruleset = loadRulesetFile(config.SIGNALBOX_RULESET);
  assertSharedSecrets(config);
  const { keys, generatedAt } = resolveApiKeys(config);
  const dataDir = resolve(invocationDir(config), config.DATA_DIR);
  // the HTTP thread's and the worker thread's SQLite connections take turns at the write lock
  const turns = new SharedArrayBuffer(8);
  const db =
    config.DATABASE_URL !== undefined
      ? await openPostgres(config.DATABASE_URL, {
          migrations: config.MIGRATE_ON_START === 'on' ? 'apply' : 'verify',
          namedStatements: config.PG_NAMED_STATEMENTS === 'on',
          upkeep: config.PG_UPKEEP,
          connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
          queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
          onConnectionError: (err) => log.warn({ err: err.message }, 'database connection lost (another is opened when needed)'),
          applied: (names) => names.length > 0 && log.info({ migrations: names }, 'migrations applied'),
        }).catch((err: unknown) => {
          // not reachable, no such database, a role it may not log in as: say where it looked;
          // anything else (a migration that failed) as it is
          const sqlState = (err as { code?: unknown }).code;
          throw isConnectionLoss(err) ||
            (err as Error).message === 'Invalid URL' ||
            sqlState === '3D000' ||
            (typeof sqlState === 'string' && sqlState.startsWith('28'))
            ? new ConfigError(unreachableDatabase(config.DATABASE_URL as string, err))
            : err;
        })
      : await openSqlite(resolve(dataDir, 'signalbox.db'), {
          // checkpoints in a thread of their own; the worker thread's connection leaves them to it
          checkpoints: 'background',
          turns,
          onCheckpointError: (message) => log.error({ err: message }, 'checkpoint failed'),
        });
  const store = new Store(db);
  // Redis that does not answer stops start-up with its reason (no hang)
  const redis =
    config.REDIS_URL === undefined
      ? undefined
      : {
          client: await connectRedis(config.REDIS_URL, (err) => log.warn({ err }, 'redis')),
          url: config.REDIS_URL,
          prefix: config.REDIS_PREFIX,
        };
  const rules = new RulesHolder(ruleset);
  // a ruleset published over the API wins over the file, unless a file is named explicitly
  if (config.SIGNALBOX_RULESET === undefined) await rules.loadPublished(store);
  const adminDir = await adminConsole(log);
  const firstStart = (await store.contactSnapshots.count()) === 0;
  const providerSettings = providerSettingsFrom(config, (file, value) => localSecret(config, file, value));
  const system = createSystem({
    providerSettings,
    store,
    admin: {
      dir: adminDir,
      sessionSecret: localSecret(config, 'session-secret', config.SESSION_SECRET),
      secure: config.PUBLIC_URL?.startsWith('https:') ?? false,
    },
    rules,
    clock: systemClock,
    log,
    ...(redis !== undefined ? { redis } : {}),
    apiKeys: keys,
    sandboxSecret: localSecret(config, 'sandbox-secret', config.SANDBOX_SECRET),
    bodyLimit: config.BODY_LIMIT,
    ...(config.HUBSPOT_CLIENT_ID !== undefined && config.HUBSPOT_CLIENT_SECRET !== undefined
      ? {
          hubspot: {
            clientId: config.HUBSPOT_CLIENT_ID,
            clientSecret: config.HUBSPOT_CLIENT_SECRET,
            redirectUri:
              config.HUBSPOT_REDIRECT_URI ?? `${config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`}/hubspot/oauth/callback`,
            apiBase: config.HUBSPOT_API_BASE,
            exportThreshold: config.HUBSPOT_EXPORT_THRESHOLD,
            portalIds: config.HUBSPOT_PORTAL_IDS,
            tokenKey: Buffer.from(localSecret(config, 'hubspot-token-key', config.HUBSPOT_TOKEN_KEY), 'base64'),
            publicUrl: config.PUBLIC_URL,
          },
        }
      : {}),
    ...(config.SALESFORCE_CLIENT_ID !== undefined && config.SALESFORCE_CLIENT_SECRET !== undefined
      ? {
          salesforce: {
            clientId: config.SALESFORCE_CLIENT_ID,
            clientSecret: config.SALESFORCE_CLIENT_SECRET,
            redirectUri:
              config.SALESFORCE_REDIRECT_URI ?? `${config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`}/salesforce/oauth/callback`,
            loginUrl: config.SALESFORCE_LOGIN_URL,
            tokenKey: Buffer.from(localSecret(config, 'salesforce-token-key', config.SALESFORCE_TOKEN_KEY), 'base64'),
            ...(config.SALESFORCE_JWT_USERNAME !== undefined && config.SALESFORCE_JWT_PRIVATE_KEY !== undefined
              ? {
                  jwt: { username: config.SALESFORCE_JWT_USERNAME, privateKeyPem: config.SALESFORCE_JWT_PRIVATE_KEY.replace(/\\n/g, '\n') },
                }
              : {}),
            orgIds: config.SALESFORCE_ORG_IDS,
            // Salesforce signs nothing: the secret path segment is what authenticates an Outbound
            // Message (the embedded profile keeps one in DATA_DIR; production must be given it)
            outboundSecret: localSecret(config, 'salesforce-outbound-secret', config.SALESFORCE_OUTBOUND_SECRET),
            cdcEntities: ['Contact', 'Lead', 'Case', 'Opportunity', ...config.SALESFORCE_CDC_OBJECTS],
            bulkThreshold: config.SALESFORCE_BULK_THRESHOLD,
            cdc: config.SALESFORCE_CDC === 'on',
          },
        }
      : {}),
    leaseMs: config.WORKER_LEASE_MS,
    workerConcurrency: config.WORKER_CONCURRENCY ?? defaultWorkerConcurrency(),
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS ?? (config.DATABASE_URL !== undefined ? 1000 : 0),
    keepAliveMs: config.HTTP_KEEP_ALIVE_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    ...(config.TRUST_PROXY !== undefined ? { trustProxy: config.TRUST_PROXY } : {}),
    instanceId,
    ...(config.WORKER === 'on'
      ? {
          workerThread: {
            database:
              config.DATABASE_URL !== undefined
                ? {
                    kind: 'postgres' as const,
                    url: config.DATABASE_URL,
                    namedStatements: config.PG_NAMED_STATEMENTS === 'on',
                    upkeep: config.PG_UPKEEP,
                    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
                    queryTimeoutMs: config.PG_QUERY_TIMEOUT_MS,
                  }
                : { kind: 'sqlite' as const, file: resolve(dataDir, 'signalbox.db'), checkpoints: 'elsewhere' as const, turns },
            logLevel: config.LOG_LEVEL,
            ...(tracingSettings !== undefined ? { tracing: tracingSettings } : {}),
          },
        }
      : {}),
  });
  const { url } = await system.listen(config.PORT, config.HOST);
  if (config.WORKER !== 'off') {
    system.worker.start();
    await system.worker.whenReady();
  }
  const profile =
    config.DATABASE_URL !== undefined
      ? `production (PostgreSQL${redis !== undefined ? ', limits shared through Redis' : ''})`
      : `embedded (SQLite ${resolve(dataDir, 'signalbox.db')})`;
  process.stdout.write(
    [
      '',
      `Signalbox is running at ${url} — ${profile}, providers: ${['sandbox', ...(providerSettings ? configuredProviders(providerSettings) : [])].join(', ')}, ruleset ${rules.get().version}`,
      `  admin:     ${url}/admin/  (sign in with an admin or agent key)`,
      ...(firstStart ? ['  no data yet: `pnpm demo` loads a few hundred demo contacts and runs the seed stories'] : []),
      `  health:    ${url}/healthz   ready: ${url}/readyz   metrics: ${url}/metrics`,
      `  API:       ${url}/openapi.json describes every route`,
      `  preview:   POST ${url}/api/v1/decisions/preview   (what the policy would decide, with reasons)`,
      `  send:      POST ${url}/api/v1/messages   events: POST ${url}/api/v1/events`,
      system.hubspot !== null
        ? `  HubSpot:   install at ${url}/hubspot/install (signed into the console as an admin); webhooks ${url}/hooks/hubspot/webhooks; card ${url}/hubspot/card`
        : '  HubSpot:   off (set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET)',
      system.salesforce !== null
        ? `  Salesforce: connect with POST ${url}/api/v1/salesforce/connect (admin); Outbound Messages ${url}/hooks/salesforce/outbound/${config.SALESFORCE_OUTBOUND_SECRET !== undefined ? '<SALESFORCE_OUTBOUND_SECRET>' : `<the secret in ${join(dataDir, 'salesforce-outbound-secret')}>`}; panel ${url}/salesforce/panel`
        : '  Salesforce: off (set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET)',
      generatedAt
        ? `  API key:   in ${generatedAt} (admin; send it as "Authorization: Bearer <key>")`
        : '  API keys:  from SIGNALBOX_API_KEYS',
      `  try:       curl -s ${url}/api/v1/messages -H "authorization: Bearer ${generatedAt !== null ? `$(cat ${generatedAt})` : '<one of SIGNALBOX_API_KEYS>'}" -H 'content-type: application/json' \\`,
      `               -d '{"contact":{"identities":[{"kind":"phone","value":"+254700000001"}]},"message":{"type":"otp","template":"otp_code","variables":{"code":"482913"}}}'`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    // a second signal while draining changes nothing; the first one finishes the job
    if (stopping) return;
    stopping = true;
    log.info('shutting down: not ready, finishing the work under way, releasing claims');
    await system.close();
    await tracing?.shutdown().catch(() => undefined);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof JsonFileError || e instanceof MigrationsPendingError) fail(e.message);
  if (e instanceof RulesetInvalidError) fail(`${e.message}\n${e.problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}`);
  fail(`could not start: ${(e as Error).message}`);
});
