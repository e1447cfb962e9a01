import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ApiKey, type Config, ConfigError, invocationDir } from './config.js';

/**
 * The configured API keys; on the embedded profile without any, one admin key is generated once
 * into DATA_DIR (mode 0600) so a newcomer can call the API, and start-up says where it is.
 */
export function resolveApiKeys(config: Config): { keys: ApiKey[]; generatedAt: string | null } {
  if (config.SIGNALBOX_API_KEYS !== undefined) return { keys: config.SIGNALBOX_API_KEYS, generatedAt: null };
  sharedSecretRequired(config, 'SIGNALBOX_API_KEYS');
  const dir = resolve(invocationDir(config), config.DATA_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'admin-api-key');
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const secret = readFileSync(file, 'utf8').trim();
  return { keys: [{ name: 'local-admin', role: 'admin', secret }], generatedAt: file };
}

/** A secret kept in DATA_DIR (created once, mode 0600) when the environment gives none. */
export function localSecret(config: Config, name: string, given: string | undefined): string {
  if (given !== undefined) return given;
  sharedSecretRequired(config, name.toUpperCase().replace(/-/g, '_'));
  const dir = resolve(invocationDir(config), config.DATA_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, name);
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * The production profile (DATABASE_URL) never makes up a secret: instances share one database, so
 * a key, a session secret or a token key one instance wrote into its own DATA_DIR would be unknown
 * to the others (a console session, a receipt or a sealed CRM token reaching another instance
 * would fail), and lost with a throwaway DATA_DIR. They come from the environment, the same on
 * every instance.
 */
function sharedSecretRequired(config: Config, ...variables: string[]): void {
  if (config.DATABASE_URL !== undefined && variables.length > 0)
    throw new ConfigError(
      `invalid configuration:\n${variables.map((v) => `  ${v}: required with DATABASE_URL (the same on every instance; only the embedded profile generates one into DATA_DIR)`).join('\n')}`,
    );
}

/** Every instance needs these three (sign-in, console sessions, sandbox receipts): all missing ones named at once. */
export function assertSharedSecrets(config: Config): void {
  const missing = (
    [
      ['SIGNALBOX_API_KEYS', config.SIGNALBOX_API_KEYS],
      ['SESSION_SECRET', config.SESSION_SECRET],
      ['SANDBOX_SECRET', config.SANDBOX_SECRET],
    ] as const
  )
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  sharedSecretRequired(config, ...missing);
}
