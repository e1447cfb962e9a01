/**
 * pnpm bench (app part):
 *  1. event ingest — POST /api/v1/events (authenticated, validated, durable in the SQLite inbox)
 *     against a bare Express endpoint doing only an HMAC check, same load tool (autocannon), same run;
 *  2. event → provider call latency on the embedded profile at 500 events/s sustained, with RSS.
 * Ratios and percentiles are printed; benchmarks never fail CI.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BARE, errors, MAIN, noFailedRequests, run, startChild, steady, stop } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
/** The same load before the measured run, not counted (0: none). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
/** Events offered per second in the latency run (the target is 500). */
const RATE = Number(process.env.BENCH_RATE ?? 500);
const KEY = 'bench-admin-key-0123456789abcdef';
const HMAC_SECRET = 'bench-hmac-secret';

function startApp(dataDir: string, worker: 'on' | 'off') {
  return startChild(
    MAIN,
    {
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      WORKER: worker,
      SIGNALBOX_API_KEYS: `bench:admin:${KEY}`,
      SANDBOX_SECRET: 'bench-sandbox-secret-0123456789abcdef',
    },
    /Signalbox is running at (http:\/\/[^\s]+)/,
  );
}

async function createContacts(url: string, count: number, zone: string, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({
      identities: [{ kind: 'phone', value: `+2547${prefix}${String(i + k).padStart(5, '0')}` }],
      timezone: zone,
    }));
    const res = await fetch(`${url}/api/v1/contacts/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(batch),
    });
    const body = (await res.json()) as { results: Array<{ contactId: string }> };
    ids.push(...body.results.map((r) => r.contactId));
  }
  return ids;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function ingestBench() {
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-'));
  const app = await startApp(dataDir, 'off');
  const [contactId] = await createContacts(app.url, 1, 'UTC', '001');
  let n = 0;
  const eventBody = () =>
    JSON.stringify({
      id: `bench-${n++}`,
      type: 'ticket.opened',
      occurredAt: new Date().toISOString(),
      contact: { id: contactId },
      object: { type: 'ticket', id: `t-${n}` },
      data: { topic: 'billing' },
    });
  const bare = await startChild(BARE, { BENCH_HMAC_SECRET: HMAC_SECRET }, /READY (http:\/\/[^\s]+)/);
  const common = { connections: 50, duration: SECONDS, method: 'POST' as const };
  // both servers get the same unmeasured 2 s first (JIT, caches), then the measured run
  const oursRun = (duration: number) =>
    run({
      ...common,
      duration,
      url: `${app.url}/api/v1/events`,
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            body: eventBody(),
            headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          }),
        },
      ],
    });
  const baselineRun = (duration: number) =>
    run({
      ...common,
      duration,
      url: `${bare.url}/events`,
      requests: [
        {
          setupRequest: (req) => {
            const body = eventBody();
            return {
              ...req,
              body,
              headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha256', HMAC_SECRET).update(body).digest('hex') },
            };
          },
        },
      ],
    });
  const warm = await oursRun(2);
  const ours = await oursRun(SECONDS);
  await baselineRun(2);
  const baseline = await baselineRun(SECONDS);
  await stop(app.child);
  await stop(bare.child);
  const db = new Database(join(dataDir, 'signalbox.db'), { readonly: true });
  const durable = (db.prepare('select count(*) as n from inbox').get() as { n: number }).n;
  db.close();
  console.log(
    `event ingest (POST /api/v1/events, durable): ${Math.round(ours.requests.average)} req/s, baseline bare Express HMAC ${Math.round(baseline.requests.average)} req/s, ratio ${(ours.requests.average / baseline.requests.average).toFixed(2)}`,
  );
  console.log(
    `  autocannon, 50 connections, ${SECONDS} s each; p50 ${ours.latency.p50} ms, p99 ${ours.latency.p99} ms (baseline p99 ${baseline.latency.p99} ms); ${durable} of ${warm.requests.total + ours.requests.total} accepted events (warm-up included) durable in the inbox; errors ${errors(ours)} / ${errors(baseline)}`,
  );
  noFailedRequests(ours, baseline);
}

type LatencyLoad = 'steady' | 'bursts';

async function latencyBench(kind: LatencyLoad) {
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-bench-'));
  const app = await startApp(dataDir, 'on');
  // contacts whose local time is noon, so quiet hours never hold a message back
  const offset = 12 - new Date().getUTCHours();
  const zone = `Etc/GMT${offset >= 0 ? '-' : '+'}${Math.abs(offset)}`;
  const contacts = await createContacts(app.url, 2000, zone, '002');
  let rss = 0;
  let answered = 'no answer';
  const sampler = setInterval(async () => {
    try {
      // /metrics wants an admin (or metrics) key like any other route
      const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
      answered = `HTTP ${res.status}`;
      const m = /^process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(await res.text());
      if (m) rss = Math.max(rss, Number(m[1]));
    } catch {
      // the sampler never fails the run
    }
  }, 500);
  const event = (prefix: string, i: number) => ({
    body: JSON.stringify({
      id: `${prefix}lat-${i}`,
      type: 'invoice.overdue',
      occurredAt: new Date().toISOString(),
      contact: { id: contacts[i % contacts.length] },
      object: { type: 'invoice', id: `${prefix}inv-${i}` },
    }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
  });
  // steady: one event every 1/RATE s (open loop); bursts: autocannon's per-second budget
  const load = async (prefix: string, duration: number) => {
    if (kind === 'steady') {
      const r = await steady({
        url: `${app.url}/api/v1/events`,
        rate: RATE,
        seconds: duration,
        connections: 20,
        request: (i) => event(prefix, i),
      });
      return { total: r.total, non2xx: r.non2xx, errors: r.errors, timeouts: 0, p99: Math.round(pct(r.latencies, 99)), rate: RATE };
    }
    let n = 0;
    const r = await run({
      url: `${app.url}/api/v1/events`,
      method: 'POST',
      connections: 20,
      overallRate: RATE,
      duration,
      requests: [{ setupRequest: (req) => ({ ...req, ...event(prefix, n++) }) }],
    });
    return {
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      p99: r.latency.p99,
      rate: Math.round(r.requests.average),
    };
  };
  const db = new Database(join(dataDir, 'signalbox.db'), { readonly: true });
  const backlog = () => (db.prepare('select count(*) as n from inbox where processed_at is null').get() as { n: number }).n;
  const drained = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (backlog() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
  };
  // the same load for WARMUP_SECONDS first, not measured (as the ingest runs warm up): a fresh
  // process spends its first second compiling the hot paths, which is not the sustained rate
  await load('warm-', WARMUP_SECONDS);
  await drained(30_000);
  const result = await load('', LATENCY_SECONDS);
  console.log(
    `  load (${kind}): ${result.total} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, HTTP p99 ${result.p99} ms`,
  );
  // let the worker finish what was accepted
  await drained(60_000);
  clearInterval(sampler);
  await stop(app.child);
  // event accepted (inbox.received_at) → provider call (sandbox_sends.at), matched through the invoice id
  const rows = db
    .prepare(
      `select i.received_at as received, s.at as sent from sandbox_sends s
       join attempts a on a.claim = s.claim join messages m on m.id = a.message_id
       join inbox i on i.event_id = replace(json_extract(m.request, '$.object.id'), 'inv-', 'lat-')
       where i.event_id like 'lat-%'`,
    )
    .all() as Array<{ received: number; sent: number }>;
  const events = (db.prepare("select count(*) as n from inbox where event_id like 'lat-%'").get() as { n: number }).n;
  db.close();
  const latencies = rows.map((r) => r.sent - r.received);
  const span = (Math.max(...rows.map((r) => r.sent)) - Math.min(...rows.map((r) => r.received))) / 1000;
  const how = kind === 'steady' ? 'evenly spaced' : "autocannon's per-second bursts";
  console.log(
    `event → provider call at ${result.rate} events/s (${how}) for ${LATENCY_SECONDS} s after ${WARMUP_SECONDS} s of warm-up at the same rate (embedded profile): p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms, max ${Math.max(...latencies)} ms over ${latencies.length} sends of ${events} events (${Math.round(latencies.length / span)} events/s through, first accepted to last sent); peak RSS ${rss > 0 ? `${Math.round(rss / 1024 / 1024)} MB` : `not read (/metrics: ${answered})`}`,
  );
}

const only = process.env.BENCH_ONLY;
if (only === undefined || only === 'ingest') await ingestBench();
if (only === undefined || only === 'latency') await latencyBench('steady');
if (only === undefined || only === 'bursts') await latencyBench('bursts');
