/**
 * Idle memory of the embedded instance, from the sources through tsx (`pnpm dev`) and compiled
 * (`pnpm start`, `pnpm start:prod`), with the worker thread on and off: its cost is the difference.
 * Resident set of the node process (VmRSS) after 5 s idle, and of its child processes (tsx's esbuild
 * service) beside it. Builds first (`pnpm build`, incremental).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FLAGS = ['--max-old-space-size=192', '--max-semi-space-size=4'];
const RUNS = {
  source: [...FLAGS, '--import', 'tsx', join(ROOT, 'packages/app/src/main.ts')],
  compiled: [...FLAGS, '--conditions=signalbox-compiled', join(ROOT, 'packages/app/dist/main.js')],
};
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5000);

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
function descendants(pid: number): number[] {
  const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

async function idle(run: keyof typeof RUNS, worker: 'on' | 'off'): Promise<{ self: number; children: number }> {
  const child: ChildProcess = spawn(process.execPath, RUNS[run], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      LOG_LEVEL: 'warn',
      WORKER: worker,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'signalbox-rss-')),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Signalbox is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${run} exited (${code}): ${out}`)));
  });
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const pid = child.pid as number;
  const r = { self: rssKb(pid) / 1024, children: descendants(pid).reduce((s, p) => s + rssKb(p), 0) / 1024 };
  child.removeAllListeners('exit');
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  return r;
}

execFileSync('pnpm', ['build'], { cwd: ROOT, stdio: 'ignore' });
const mb = (n: number) => `${n.toFixed(0).padStart(4)} MB`;
const rows: Record<string, { off: { self: number; children: number }; on: { self: number; children: number } }> = {};
for (const run of ['source', 'compiled'] as const) rows[run] = { off: await idle(run, 'off'), on: await idle(run, 'on') };
process.stdout.write(`\nidle resident set (embedded, after ${IDLE_MS / 1000} s idle)\n`);
process.stdout.write('                    WORKER=off   WORKER=on   worker thread   child processes\n');
for (const [run, r] of Object.entries(rows)) {
  process.stdout.write(
    `  ${run.padEnd(16)}  ${mb(r.off.self)}     ${mb(r.on.self)}     ${mb(r.on.self - r.off.self)}         ${mb(r.on.children)}\n`,
  );
}
const src = rows.source as (typeof rows)[string];
const cmp = rows.compiled as (typeof rows)[string];
process.stdout.write(
  `  compiled / source: worker thread ${((cmp.on.self - cmp.off.self) / (src.on.self - src.off.self)).toFixed(2)}, process ${(cmp.on.self / src.on.self).toFixed(2)}, with children ${((cmp.on.self + cmp.on.children) / (src.on.self + src.on.children)).toFixed(2)}\n`,
);
