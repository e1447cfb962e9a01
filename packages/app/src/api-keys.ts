import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ApiKey, type Config, invocationDir } from './config.js';

/**
 * The configured API keys; on the embedded profile without any, one admin key is generated once
 * into DATA_DIR (mode 0600) so a newcomer can call the API, and start-up says where it is.
 */
export function resolveApiKeys(config: Config): { keys: ApiKey[]; generatedAt: string | null } {
  if (config.SIGNALBOX_API_KEYS !== undefined) return { keys: config.SIGNALBOX_API_KEYS, generatedAt: null };
  const dir = resolve(invocationDir(config), config.DATA_DIR);
  mkdirSync(dir, { recursive: true });
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
  const dir = resolve(invocationDir(config), config.DATA_DIR);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}
