/**
 * pnpm bench (Salesforce part):
 *  1. Outbound Message ingest (100 notifications per message: checked, durable, acknowledged)
 *     against a bare Express endpoint doing only XML parsing and the ACK, same load tool, same run;
 *  2. initial sync of 1,000,000 fake contacts through Bulk API 2.0 query jobs (real jsforce against
 *     the fake; stored as contacts with their identities and consent), and, for comparison, SOQL
 *     paging measured on a sample and taken to the same size (the bound Bulk is chosen over).
 * Ratios are printed; benchmarks never fail CI.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeSalesforce, fakeId, outboundEnvelope } from '@signalbox/connectors/testing';
import type autocannon from 'autocannon';
import { errors, inProcessSystem, MAIN, noFailedRequests, run, startChild, stop } from './support.js';

const CONTACTS = Number(process.env.BENCH_SF_CONTACTS ?? 1_000_000);
const SOQL_SAMPLE = Number(process.env.BENCH_SF_SOQL_SAMPLE ?? 50_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BARE_XML = fileURLToPath(new URL('./bare-xml-server.ts', import.meta.url));
const REDIRECT = 'https://x.example/salesforce/oauth/callback';
/** The Outbound Message endpoint's secret last path segment (the app refuses the bare path with 403). */
const OUTBOUND_SECRET = 'bench-outbound-secret-0123456789';

async function outboundBench() {
  const org = fakeId('00D', 1);
  const dataDir = mkdtempSync(join(tmpdir(), 'signalbox-sf-'));
  const app = await startChild(
    MAIN,
    {
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      WORKER: 'off',
      SIGNALBOX_API_KEYS: 'bench:admin:bench-admin-key-0123456789abcdef',
      SANDBOX_SECRET: 'bench-sandbox-secret-0123456789abcdef',
      SALESFORCE_CLIENT_ID: 'bench.consumer.key',
      SALESFORCE_CLIENT_SECRET: 'bench-consumer-secret-0123456789',
      SALESFORCE_ORG_IDS: org,
      SALESFORCE_OUTBOUND_SECRET: OUTBOUND_SECRET,
      SALESFORCE_CDC: 'off',
    },
    /Signalbox is running at (http:\/\/[^\s]+)/,
  );
  const bare = await startChild(BARE_XML, {}, /READY (http:\/\/[^\s]+)/);
  let n = 1;
  // 100 notifications on Contact, each with the fields a Flow typically selects
  const message = () => {
    const base = n;
    n += 100;
    return outboundEnvelope({
      organizationId: org,
      actionId: fakeId('04k', 1),
      sObjectType: 'Contact',
      notifications: Array.from({ length: 100 }, (_, i) => ({
        id: fakeId('04l', base + i),
        fields: {
          Id: fakeId('003', base + i),
          Email: `contact${base + i}@example.com`,
          FirstName: 'Contact',
          LastModifiedDate: '2026-11-23T08:59:00.000Z',
          LastName: `N${base + i}`,
          MobilePhone: `+2547${String(base + i).padStart(8, '0')}`,
        },
      })),
    });
  };
  const common = {
    connections: 20,
    duration: SECONDS,
    method: 'POST' as const,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          body: message(),
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
        }),
      },
    ],
  };
  const ours = await run({ ...common, url: `${app.url}/hooks/salesforce/outbound/${OUTBOUND_SECRET}` });
  const baseline = await run({ ...common, url: `${bare.url}/outbound` });
  await stop(app.child);
  await stop(bare.child);
  console.log(
    `Salesforce Outbound Messages (100 notifications, checked, durable, ACKed): ${Math.round(ours.requests.average)} req/s = ${Math.round(ours.requests.average * 100)} notifications/s, baseline bare Express XML parse ${Math.round(baseline.requests.average)} req/s, ratio ${(ours.requests.average / baseline.requests.average).toFixed(2)}`,
  );
  console.log(
    `  autocannon, 20 connections, ${SECONDS} s each; p99 ${ours.latency.p99} ms (baseline ${baseline.latency.p99} ms); errors ${errors(ours)} / ${errors(baseline)}`,
  );
  noFailedRequests(ours, baseline);
}

/** Syncs `count` contacts from a fresh fake org; returns seconds, requests made and contacts stored. */
async function sync(count: number, bulkThreshold: number) {
  const fake = new FakeSalesforce();
  await fake.start();
  const orgId = fake.org().id;
  fake.seedContacts(orgId, count);
  const { store, system } = await inProcessSystem({
    salesforce: {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: REDIRECT,
      loginUrl: fake.url,
      tokenKey: Buffer.alloc(32, 1),
      orgIds: [],
      cdcEntities: [],
      cdc: false,
      bulkThreshold,
    },
  });
  const sf = system.salesforce;
  if (sf === null) throw new Error('Salesforce is not wired');
  await sf.gateway.connectWithCode(fake.authorizationCode(orgId, REDIRECT));
  const started = performance.now();
  let r = await sf.sync.initial(orgId);
  // a Bulk API job still running answers an empty page: the worker's next round asks again
  while (!r.done) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await sf.sync.initial(orgId);
  }
  const seconds = (performance.now() - started) / 1000;
  const requests = fake.log.filter((l) => l.path.startsWith('/services/data/')).length;
  const stored = await store.contacts.findByIdentity('email', `contact${count}@example.com`);
  await system.close();
  await fake.stop();
  return { seconds, requests, contacts: r.contacts, stored: stored !== null };
}

async function syncBench() {
  const bulk = await sync(CONTACTS, 50_000);
  console.log(
    `Salesforce initial sync through Bulk API 2.0: ${bulk.contacts} contacts in ${bulk.seconds.toFixed(1)} s (${Math.round(bulk.contacts / bulk.seconds)}/s) over ${bulk.requests} API requests; ${bulk.stored ? 'all stored' : 'NOT all stored'}; target under 300 s`,
  );
  const soql = await sync(SOQL_SAMPLE, Number.MAX_SAFE_INTEGER);
  const perContact = soql.seconds / soql.contacts;
  const requestsAt = Math.ceil((soql.requests / soql.contacts) * CONTACTS);
  console.log(
    `  SOQL paging for comparison: ${soql.contacts} contacts in ${soql.seconds.toFixed(1)} s over ${soql.requests} requests → ${CONTACTS} ≈ ${(perContact * CONTACTS).toFixed(0)} s and ${requestsAt} requests (each counts against the org's daily API allocation); Bulk/SOQL time ratio ${(bulk.seconds / (perContact * CONTACTS)).toFixed(2)}`,
  );
}

await outboundBench();
await syncBench();
