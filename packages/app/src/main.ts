import { RulesetInvalidError } from '@signalbox/engine';
import { resolveApiKeys } from './api-keys.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig } from './config.js';
import { createApp } from './http/app.js';
import { createLogger } from './logger.js';
import { JsonFileError, loadRulesetFile } from './ruleset-source.js';

function fail(message: string): never {
  process.stderr.write(`signalbox: ${message}\n`);
  process.exit(1);
}

try {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const ruleset = loadRulesetFile(config.SIGNALBOX_RULESET);
  const { keys, generatedAt } = resolveApiKeys(config);
  const app = createApp({ ruleset: () => ruleset, clock: systemClock, apiKeys: keys, log, bodyLimit: config.BODY_LIMIT });
  const server = app.listen(config.PORT, config.HOST, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
    const base = `http://${config.HOST}:${port}`;
    process.stdout.write(
      [
        '',
        `Signalbox is running at ${base} (embedded profile, ruleset ${ruleset.version})`,
        `  health:   ${base}/healthz`,
        `  preview:  POST ${base}/api/v1/decisions/preview   (what the policy would decide, with reasons)`,
        generatedAt
          ? `  API key:  in ${generatedAt} (admin; send it as "Authorization: Bearer <key>")`
          : '  API keys: from SIGNALBOX_API_KEYS',
        `  try:      curl -s ${base}/api/v1/decisions/preview -H "authorization: Bearer $(cat ${generatedAt ?? '<key file>'})" -H 'content-type: application/json' \\`,
        `              -d '{"message":{"type":"otp"},"contact":{"id":"c1","market":"KE","identities":[{"kind":"phone","value":"+254700000001"}]}}'`,
        '',
      ].join('\n'),
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (e) {
  if (e instanceof ConfigError || e instanceof JsonFileError) fail(e.message);
  if (e instanceof RulesetInvalidError) fail(`${e.message}\n${e.problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}`);
  throw e;
}
