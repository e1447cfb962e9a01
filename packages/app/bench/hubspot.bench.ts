/**
 * pnpm bench (HubSpot part):
 *  1. initial sync of 100,000 fake contacts while the fake enforces HubSpot's 100 requests per
 *     10 s: the time against the rate-limit bound (requests ÷ allowed rate), and the 429s received;
 *  2. webhook batch ingest (100 events per request, v3-signed, durable) against a bare Express
 *     endpoint doing only an HMAC check, same load tool, same run.
 * Ratios are printed; benchmarks never fail CI.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signV3 } from '@signalbox/connectors';
import { FakeHubspot } from '@signalbox/connectors/testing';
import { BARE, errors, inProcessSystem, MAIN, noFailedRequests, run, startChild, stop } from './support.js';

const CONTACTS = Number(process.env.BENCH_SYNC_CONTACTS ?? 100_000);
const EXPORT_CONTACTS = Number(process.env.BENCH_EXPORT_CONTACTS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PORTAL = 62515;

/** The initial sync of a large portal through one CRM export (the default above 20,000 contacts). */
async function exportSyncBench() {
  const fake = new FakeHubspot();
  await fake.start();
  fake.seedContacts(PORTAL, EXPORT_CONTACTS);
  const { store, system } = await inProcessSystem({
    hubspot: {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://x.example/cb',
      apiBase: fake.url,
      tokenKey: Buffer.alloc(32, 1),
    },
  });
  const hubspot = system.hubspot;
  if (hubspot === null) throw new Error('HubSpot is not wired');
  await hubspot.gateway.install(fake.authorizationCode(PORTAL));
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let r = await hubspot.sync.initial(String(PORTAL));
  // the export still being written answers an empty page: the worker's next round asks again
  while (!r.done) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await hubspot.sync.initial(String(PORTAL));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const requests = fake.log.filter((l) => l.path.startsWith('/crm/')).length;
  const { max, intervalMs } = fake.rateLimit;
  const pagingRequests = Math.ceil(EXPORT_CONTACTS / 100) + 1;
  const pagingBound = pagingRequests / (max / (intervalMs / 1000));
  const stored = (await store.contacts.findByIdentity('hubspot', `${PORTAL}:${EXPORT_CONTACTS}`)) !== null;
  const task = [...fake.exports.tasks.values()][0];
  console.log(
    `HubSpot initial sync through the exports API: ${r.contacts} contacts in ${seconds.toFixed(1)} s (${Math.round(r.contacts / seconds)}/s) over ${requests} API requests and one ${task?.file?.zipped ? 'zipped ' : ''}file of ${((task?.file?.bytes.length ?? 0) / 1e6).toFixed(1)} MB; ${stored ? 'all stored' : 'NOT all stored'}; target under 300 s; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (the fake's writing of the file included)`,
  );
  console.log(
    `  paging bound for comparison: ${pagingRequests} requests at ${max} per ${intervalMs / 1000} s = ${pagingBound.toFixed(0)} s (${(pagingBound / 60).toFixed(1)} min) before storing anything; export/paging time ratio ${(seconds / pagingBound).toFixed(2)}`,
  );
  await system.close();
  await fake.stop();
}

async function syncBench() {
  const fake = new FakeHubspot();
  await fake.start();
  fake.seedContacts(PORTAL, CONTACTS);
  const { store, system } = await inProcessSystem({
    hubspot: {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://x.example/cb',
      apiBase: fake.url,
      tokenKey: Buffer.alloc(32, 1),
      // this one measures paging against the rate limit
      exportThreshold: Number.MAX_SAFE_INTEGER,
    },
  });
  const hubspot = system.hubspot;
  if (hubspot === null) throw new Error('HubSpot is not wired');
  await hubspot.gateway.install(fake.authorizationCode(PORTAL));
  const { max, intervalMs } = fake.rateLimit;
  const started = performance.now();
  const r = await hubspot.sync.initial(String(PORTAL));
  const seconds = (performance.now() - started) / 1000;
  const requests = fake.log.filter((l) => l.path.startsWith('/crm/')).length;
  const bound = requests / (max / (intervalMs / 1000));
  const stored = (await store.contacts.findByIdentity('hubspot', `${PORTAL}:${CONTACTS}`)) !== null ? CONTACTS : 'not all';
  console.log(
    `HubSpot initial sync: ${r.contacts} contacts in ${seconds.toFixed(1)} s over ${requests} requests; rate-limit bound ${bound.toFixed(1)} s (${max} requests per ${intervalMs / 1000} s), ratio ${(seconds / bound).toFixed(3)}; 429 received ${fake.throttled}; ${stored} contacts stored`,
  );
  await system.close();
  await fake.stop();
}

async function webhookBench() {
  const fake = new FakeHubspot();
  await fake.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-hs-'));
  const app = await startChild(
    MAIN,
    {
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      WORKER: 'off',
      SIGNALBOX_API_KEYS: 'bench:admin:bench-admin-key-0123456789abcdef',
      SANDBOX_SECRET: 'bench-sandbox-secret-0123456789abcdef',
      HUBSPOT_CLIENT_ID: fake.clientId,
      HUBSPOT_CLIENT_SECRET: fake.clientSecret,
      HUBSPOT_API_BASE: fake.url,
    },
    /Signalbox is running at (http:\/\/[^\s]+)/,
  );
  const bare = await startChild(BARE, { BENCH_HMAC_SECRET: fake.clientSecret }, /READY (http:\/\/[^\s]+)/);
  let n = 0;
  const batch = () => {
    const base = n;
    n += 100;
    return JSON.stringify(
      Array.from({ length: 100 }, (_, i) => ({
        eventId: base + i,
        subscriptionId: 1,
        portalId: PORTAL,
        appId: 54321,
        occurredAt: Date.now(),
        subscriptionType: 'ticket.creation',
        attemptNumber: 0,
        objectId: base + i,
        changeFlag: 'CREATED',
        changeSource: 'CRM_UI',
      })),
    );
  };
  const url = `${app.url}/hooks/hubspot/webhooks`;
  const common = { connections: 20, duration: SECONDS, method: 'POST' as const };
  const ours = await run({
    ...common,
    url,
    requests: [
      {
        setupRequest: (req) => {
          const body = batch();
          const ts = Date.now();
          return {
            ...req,
            body,
            headers: {
              'content-type': 'application/json',
              'x-hubspot-signature-v3': signV3(fake.clientSecret, 'POST', url, body, ts),
              'x-hubspot-request-timestamp': String(ts),
            },
          };
        },
      },
    ],
  });
  const baseline = await run({
    ...common,
    url: `${bare.url}/events`,
    requests: [
      {
        setupRequest: (req) => {
          const body = batch();
          return {
            ...req,
            body,
            headers: {
              'content-type': 'application/json',
              'x-signature': createHmac('sha256', fake.clientSecret).update(body).digest('hex'),
            },
          };
        },
      },
    ],
  });
  await stop(app.child);
  await stop(bare.child);
  await fake.stop();
  console.log(
    `HubSpot webhook batches (100 events, v3-signed, durable): ${Math.round(ours.requests.average)} req/s = ${Math.round(ours.requests.average * 100)} events/s, baseline bare Express HMAC ${Math.round(baseline.requests.average)} req/s, ratio ${(ours.requests.average / baseline.requests.average).toFixed(2)}`,
  );
  console.log(
    `  autocannon, 20 connections, ${SECONDS} s each; p99 ${ours.latency.p99} ms (baseline ${baseline.latency.p99} ms); errors ${errors(ours)} / ${errors(baseline)}`,
  );
  noFailedRequests(ours, baseline);
}

const only = process.env.BENCH_HUBSPOT_ONLY;
if (only === undefined || only === 'webhooks') await webhookBench();
if (only === undefined || only === 'sync') await syncBench();
if (only === undefined || only === 'export') await exportSyncBench();
