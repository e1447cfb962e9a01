/** What the benchmarks share: servers in their own processes, the load tool. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import autocannon from 'autocannon';
import { systemClock } from '../src/clock.js';
import { openSqlite } from '../src/db/sqlite.js';
import { createLogger } from '../src/logger.js';
import { RulesHolder } from '../src/rules/rules-holder.js';
import { Store } from '../src/store/store.js';
import { createSystem, type SystemOptions } from '../src/system.js';

export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** What `pnpm start:prod` runs: the compiled app (`pnpm build` first; scripts/bench.sh does). */
export const COMPILED_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
export const BARE = fileURLToPath(new URL('./bare-hmac-server.ts', import.meta.url));

/**
 * The heap limits `pnpm start` runs with (package.json): V8 otherwise lets the old generation grow
 * towards gigabytes before collecting, and the resident set with it (317 MB → 250 MB measured); the
 * HTTP thread's young generation is kept small too (semi-spaces of 4 MB: 282 → 236 MB at 500
 * events/s, p99 no worse; the worker thread's are set where it is started).
 */
const START_FLAGS = [
  '--max-old-space-size=192',
  '--max-semi-space-size=4',
  ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
];

/** Starts a server in its own process and returns its URL (the load generator stays here). */
/**
 * The heap limits the Docker image (the production profile) runs with: its CMD's flags. The HTTP
 * thread's semi-spaces are 16 MB there (at 500 events/s p99 103–111 ms against 114–170 ms at 4 MB,
 * ~55 MB more RSS per instance under load).
 */
export const IMAGE_FLAGS = [
  '--max-old-space-size=192',
  '--max-semi-space-size=16',
  ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
];

export function startChild(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  flags: readonly string[] = START_FLAGS,
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const loader = script.endsWith('.js') ? ['--conditions=signalbox-compiled'] : ['--import', 'tsx'];
    const child = spawn(process.execPath, [...flags, ...loader, script], {
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
      },
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

/**
 * A throughput run whose requests failed measured the failure (a 403 is answered fast), not the
 * endpoint: past one request in a thousand (a stray timeout is not that), says so and makes the
 * bench exit non-zero once it has printed everything. (`pnpm bench` chains the files: the ones
 * after it do not run, which is the point.)
 */
export function noFailedRequests(...runs: autocannon.Result[]): void {
  const failed = runs.reduce((n, r) => n + errors(r), 0);
  const total = runs.reduce((n, r) => n + r.requests.total, 0);
  if (failed <= total / 1000) return;
  console.error(`FAIL: ${failed} of ${total} requests failed; the figures above are not a measurement of the endpoint`);
  process.exitCode = 1;
}

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

/**
 * An open-loop load at a steady rate: request i is due at start + i / rate and goes out then (on
 * one of `connections` keep-alive sockets, queueing in the agent when all are busy), whatever the
 * answers before it did. autocannon's `overallRate` is a per-connection budget per second
 * instead: each connection sends its share as fast as it is answered and then waits for the
 * next second, so "500/s" arrives as a burst of 500 at the start of every second, the tighter
 * the faster the server answers. HTTP latency counts from when a request was due.
 */
export async function steady(o: {
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  request: (i: number) => { body: string; headers: Record<string, string> };
  /** Where request i goes (several instances); `url` otherwise. */
  urlOf?: (i: number) => string;
}): Promise<{ total: number; non2xx: number; errors: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
  const total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    const finish = () => {
      done++;
      if (done === total) resolve();
    };
    const fire = (i: number, due: number) => {
      const { body, headers } = o.request(i);
      const req = httpRequest(
        o.urlOf?.(i) ?? o.url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.once('end', () => {
            if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
            latencies.push(performance.now() - due);
            finish();
          });
        },
      );
      req.once('error', () => {
        errors++;
        finish();
      });
      req.end(body);
    };
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * o.rate) / 1000) + 1);
      for (; sent < due; sent++) fire(sent, start + (sent * 1000) / o.rate);
      if (sent === total) clearInterval(tick);
    }, 1);
  });
  agent.destroy();
  return { total, non2xx, errors, latencies };
}
