/** What the benchmarks share: servers in their own processes, the load tool. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import autocannon from 'autocannon';
import { systemClock } from '../src/clock.js';
import { createLogger } from '../src/logger.js';
import { RulesHolder } from '../src/rules-holder.js';
import { openSqlite } from '../src/store/database.js';
import { Store } from '../src/store/store.js';
import { createSystem, type SystemOptions } from '../src/system.js';

export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
export const BARE = fileURLToPath(new URL('./bare-hmac-server.ts', import.meta.url));

/**
 * The heap cap `pnpm start` runs with (package.json): V8 otherwise lets the old generation grow
 * towards gigabytes before collecting, and the resident set with it (317 MB → 250 MB measured).
 */
const START_FLAGS = ['--max-old-space-size=192', ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];

/** Starts a server in its own process and returns its URL (the load generator stays here). */
export function startChild(script: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...START_FLAGS, '--import', 'tsx', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, url: m[1] as string });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready: ${out}`)));
  });
}

export const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

export function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

export const errors = (r: autocannon.Result) => r.non2xx + r.errors + r.timeouts;

/** The system in this process on a fresh SQLite file (default ruleset, no API keys, quiet). */
export async function inProcessSystem(extra: Partial<SystemOptions> = {}) {
  const store = new Store(
    await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-bench-')), 'signalbox.db'), { checkpoints: 'background' }),
  );
  const system = createSystem({
    store,
    rules: new RulesHolder(loadRuleset(DEFAULT_RULESET)),
    clock: systemClock,
    log: createLogger('silent'),
    apiKeys: [],
    sandboxSecret: 'bench-sandbox-secret-0123456789',
    ...extra,
  });
  return { store, system };
}
