/**
 * Signalbox as it runs in production, for tests: real processes (`packages/app/src/main.ts`) on a
 * PostgreSQL database of their own, each an instance with its own id, killed and restarted as a
 * platform would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MAIN = fileURLToPath(new URL('../../packages/app/src/main.ts', import.meta.url));
/** The app as `pnpm build` compiles it (`pnpm start:prod`). */
const COMPILED_MAIN = fileURLToPath(new URL('../../packages/app/dist/main.js', import.meta.url));
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const KEY = 'prod-admin-key-0123456789abcdefghij';
/** A key that reads /metrics only (what Prometheus is given). */
export const METRICS_KEY = 'prod-scrape-key-0123456789abcdefghij';
export const SANDBOX_SECRET = 'prod-sandbox-secret-0123456789abcdef';

/** A fresh database (dropped by `drop`). */
export async function freshDatabase(): Promise<{
  url: string;
  drop(): Promise<void>;
  query<T>(text: string, values?: unknown[]): Promise<T[]>;
}> {
  const name = `signalbox_it_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // this process's own sessions: pool.end() resolves before the server has seen them close, and a
  // session still open when the database is dropped WITH (FORCE) is terminated with an error that
  // reaches this process uncaught
  const mine = new Set<number>();
  // and an idle session ended by the server (the database dropped) is no failure of the test
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (pid !== undefined) mine.add(pid);
  });
  return {
    url,
    query: async <T>(text: string, values: unknown[] = []) => (await pool.query(text, values)).rows as T[],
    async drop() {
      await pool.end();
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      for (let i = 0; i < 100 && mine.size > 0; i++) {
        const open = await a.query<{ n: string }>('select count(*) n from pg_stat_activity where pid = any($1::int[])', [[...mine]]);
        if (Number(open.rows[0]?.n) === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // what remains is the instances' (their processes are gone or going)
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface Instance {
  id: string;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal) when the process ends. */
  exited: Promise<number | string | null>;
  /** What it wrote to stderr (errors, warnings). */
  stderr(): string;
}

/** A ruleset file for the instances (the default one, changed by `edit`). */
export function rulesetFile(document: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'signalbox-rs-')), 'ruleset.json');
  writeFileSync(file, JSON.stringify(document));
  return file;
}

/** Starts an instance and resolves once it answers. */
export function startInstance(o: {
  id: string;
  databaseUrl: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  /**
   * Run the compiled JavaScript with plain node, as `pnpm start:prod` does (the default: the suite's
   * global set-up builds it from the sources under test), or the sources through tsx (`false`).
   */
  compiled?: boolean;
}): Promise<Instance> {
  const main = o.compiled === false ? ['--import', 'tsx', MAIN] : ['--conditions=signalbox-compiled', COMPILED_MAIN];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...main], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: o.databaseUrl,
        INSTANCE_ID: o.id,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        DATA_DIR: mkdtempSync(join(tmpdir(), `signalbox-${o.id}-`)),
        SIGNALBOX_API_KEYS: `ops:admin:${KEY},prometheus:metrics:${METRICS_KEY}`,
        SANDBOX_SECRET,
        SESSION_SECRET: 'prod-session-secret-0123456789abcdefghijkl',
        SHUTDOWN_DELAY_MS: '0',
        // four sides per instance racing, whatever this machine's cores make the default
        WORKER_CONCURRENCY: '4',
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Signalbox is running at (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ id: o.id, url: m[1] as string, child, exited, stderr: () => err });
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    void exited.then((code) => reject(new Error(`instance ${o.id} exited (${code}) before it was ready:\n${err}`)));
  });
}

/** POSTs JSON with the admin key. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

export async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${KEY}` } });
  return { status: res.status, body: (await res.json()) as unknown };
}

/** An instance's Prometheus text, read with the metrics key. */
export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } })).text();
}

/** Polls `fn` until it holds (or throws after `ms`). */
export async function until<T>(what: string, fn: () => Promise<T | false | null | undefined>, ms = 60_000, every = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
