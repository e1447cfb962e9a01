/**
 * pnpm bench --production (part): what a call pays for its limits being shared through Redis.
 * The same jobs through an unpaced limiter (concurrency 10) and the same acquisitions of a window
 * (limit never reached), in-process (the baseline) and on Redis (REDIS_URL, else the machine's own).
 * Figures are printed; benchmarks never fail CI.
 */
import { type Limiters, LocalLimiters, RedisLimiters } from '@signalbox/connectors';
import { dropPrefix, testPrefix } from '@signalbox/connectors/testing';
import { Redis } from 'ioredis';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const JOBS = Number(process.env.BENCH_LIMIT_JOBS ?? 3_000);

async function jobsPerSecond(limiters: Limiters): Promise<number> {
  const l = limiters.limiter('provider:bench', { maxConcurrent: 10 });
  await l.ready();
  const started = performance.now();
  await Promise.all(Array.from({ length: JOBS }, () => l.schedule(async () => 1)));
  return JOBS / ((performance.now() - started) / 1000);
}

async function windowPerSecond(limiters: Limiters): Promise<number> {
  const w = limiters.window('hubspot:portal:bench', { max: 1_000_000, intervalMs: 10_000 });
  const started = performance.now();
  await Promise.all(Array.from({ length: JOBS }, async () => (await w.acquire())()));
  return JOBS / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const local = new LocalLimiters();
  const prefix = testPrefix();
  const client = new Redis(URL);
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  const shared = new RedisLimiters({ client, prefix });
  try {
    const [lj, rj] = [await jobsPerSecond(local), await jobsPerSecond(shared)];
    console.log(
      `limits: jobs through a shared limiter (Redis) ${rj.toFixed(0)}/s, baseline in-process ${lj.toFixed(0)}/s, ratio ${(rj / lj).toFixed(3)}`,
    );
    const [lw, rw] = [await windowPerSecond(local), await windowPerSecond(shared)];
    console.log(
      `limits: window acquire+release on Redis ${rw.toFixed(0)}/s, baseline in-process ${lw.toFixed(0)}/s, ratio ${(rw / lw).toFixed(3)}`,
    );
  } finally {
    await shared.close();
    await local.close();
    await dropPrefix(prefix);
  }
}

await main();
