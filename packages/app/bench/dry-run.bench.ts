/**
 * Dry run of a rules change over stored contacts (default 1,000,000 × 1 message type) on the
 * embedded profile, against the engine's raw decideParsed rate measured in the same run on
 * contexts built from the same stored contacts (one thread). The dry run decides twice per
 * contact (the active version and the candidate) and spends most of its time reading contacts and
 * building contexts: `contacts/s` vs `decisions/s` shows what reading costs.
 * BENCH_DRY_RUN_CONTACTS, BENCH_DRY_RUN_HELPERS (threads deciding besides the reader, default 1).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, decideParsed, loadRuleset, parseMessageRequest } from '@signalbox/engine';
import { TestClock } from '../src/clock.js';
import { eventReach } from '../src/contacts/context.js';
import { openSqlite } from '../src/db/sqlite.js';
import { DryRuns } from '../src/dry-run/dry-runs.js';
import { evaluateContacts, PRESSURE_DAYS } from '../src/dry-run/evaluate.js';
import { Impact } from '../src/dry-run/impact.js';
import { createLogger } from '../src/logger.js';
import { MESSAGE_PRESSURE } from '../src/messages/status.js';
import { Store } from '../src/store/store.js';

const N = Number(process.env.BENCH_DRY_RUN_CONTACTS ?? 1_000_000);
const HELPERS = Number(process.env.BENCH_DRY_RUN_HELPERS ?? 1);
const AT = Date.parse('2026-11-23T09:00:00Z');
const DAY = 86_400_000;

const file = join(mkdtempSync(join(tmpdir(), 'signalbox-dryrun-')), 'signalbox.db');
const db = await openSqlite(file);
const store = new Store(db);

// --- seed: N contacts across the default ruleset's markets, in bulk ---
const markets: Array<[string, string, string]> = [
  ['KE', '+2547', 'Africa/Nairobi'],
  ['NG', '+2348', 'Africa/Lagos'],
  ['DE', '+4915', 'Europe/Berlin'],
  ['IN', '+9198', 'Asia/Kolkata'],
  ['BR', '+5511', 'America/Sao_Paulo'],
  ['GB', '+4477', 'Europe/London'],
  ['US', '+1415', 'America/Los_Angeles'],
];
const t0 = performance.now();
const BATCH = 20_000;
for (let i = 0; i < N; i += BATCH) {
  const rows = [];
  for (let k = i; k < Math.min(N, i + BATCH); k++) {
    const [market, prefix, timezone] = markets[k % markets.length] as [string, string, string];
    const id = `c${String(k).padStart(8, '0')}`;
    rows.push({
      id,
      contact: {
        market,
        timezone,
        smartphone: k % 4 !== 0,
        capabilities: { whatsapp: k % 3 === 0, rcs: k % 5 === 0 },
        tags: k % 10 === 0 ? ['vip'] : [],
      },
      identities: [
        { kind: 'phone' as const, value: `${prefix}${String(k).padStart(8, '0')}` },
        ...(k % 2 === 0 ? [{ kind: 'email' as const, value: `p${k}@example.com` }] : []),
      ],
      consent:
        k % 10 === 0
          ? [
              {
                channel: 'email',
                purpose: 'marketing' as const,
                status: 'granted' as const,
                source: 'import' as const,
                at: new Date(AT - 30 * DAY).toISOString(),
              },
            ]
          : [],
    });
  }
  await store.contacts.insertMany(rows, AT - 60 * DAY);
}
const seedMs = performance.now() - t0;
console.log(`seeded ${N} contacts (bulk insert, SQLite) in ${(seedMs / 1000).toFixed(1)} s: ${Math.round((N / seedMs) * 1000)} contacts/s`);

const candidateDoc = structuredClone(DEFAULT_RULESET) as { version: string; rules: unknown[] };
candidateDoc.version = 'bench-no-service-ke';
candidateDoc.rules.unshift({
  name: 'no-service-ke',
  stage: 'guards',
  priority: 95,
  conditions: {
    all: [
      { fact: 'message', path: 'type', operator: 'equal', value: 'service' },
      { fact: 'contact', path: 'market', operator: 'equal', value: 'KE' },
    ],
  },
  event: { type: 'suppress', params: { reason: 'bench' } },
});
const baseline = loadRuleset(DEFAULT_RULESET);
const candidate = loadRuleset(candidateDoc);
const request = parseMessageRequest({ type: 'service', team: 'care' });

// --- baseline: the engine's raw decideParsed rate on contexts built from the stored contacts ---
const window = {
  pressureSince: AT - PRESSURE_DAYS * DAY,
  eventsSince: AT - eventReach(baseline).days * DAY,
  lasting: eventReach(baseline).lasting,
  until: AT + 1,
  pressureStatuses: MESSAGE_PRESSURE,
};
const page = await store.contactSnapshots.page(null, 50_000, window);
const contexts: Parameters<typeof decideParsed>[1][] = [];
{
  // the contexts the dry run builds, kept to time decideParsed alone
  const probe = new Impact();
  evaluateContacts(page, [request], AT, baseline, candidate, probe);
  const { trustedDecisionContext } = await import('@signalbox/engine');
  const ids = new Map<string, Array<{ kind: 'phone' | 'email'; value: string }>>();
  for (const [cid, kind, value] of page.identities) ids.set(cid, [...(ids.get(cid) ?? []), { kind: kind as 'phone', value }]);
  for (const [cid, data] of page.contacts)
    contexts.push(trustedDecisionContext({ contact: { ...JSON.parse(data), id: cid, identities: ids.get(cid) ?? [] } }));
}
let best = Number.POSITIVE_INFINITY;
let sink = 0;
for (let round = 0; round < 3; round++) {
  const s = performance.now();
  for (const ctx of contexts) sink += decideParsed(request, ctx, baseline, AT).plan.length;
  best = Math.min(best, performance.now() - s);
}
const rawRate = Math.round((contexts.length / best) * 1000);

// --- the dry run, as the API starts it ---
const dryRuns = new DryRuns({
  repo: () => store.dryRuns,
  location: store.location,
  clock: new TestClock(new Date(AT)),
  log: createLogger('silent'),
  helpers: HELPERS,
});
// the dry run's thread does not keep a process alive by itself (a server's listener does)
const keepAlive = setInterval(() => undefined, 1000);
const started = performance.now();
const cpuStart = process.cpuUsage();
const rec = await dryRuns.start({
  candidate: { ruleset: candidate.source, ref: 'document', hash: 'bench' },
  baseline: { ruleset: baseline.source, number: 1, label: baseline.version },
  sample: { kind: 'contacts', at: AT, requests: [request] },
  author: 'bench',
});
await dryRuns.idle();
clearInterval(keepAlive);
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
const cpuS = (cpu.user + cpu.system) / 1e6;
const done = await store.dryRuns.get(rec.id);
if (done?.status !== 'done') {
  console.error(`FAIL: dry run ${done?.status}: ${done?.error}`);
  process.exit(1);
}
const impact = (done.result as { impact: { contacts: number; decisions: number; changed: number; transitions: Record<string, number> } })
  .impact;
const rate = Math.round((impact.contacts / elapsed) * 1000);
console.log(
  `dry run (${impact.contacts} stored contacts × 1 message type, active vs candidate, ${HELPERS + 1} threads): ${rate} contacts/s (${(elapsed / 1000).toFixed(1)} s, ${impact.decisions * 2} decisions), baseline engine decideParsed ${rawRate} decisions/s (one thread), ratio ${(rate / rawRate).toFixed(3)}`,
);
console.log(
  `  CPU: ${cpuS.toFixed(1)} s of the process's threads (${Math.round(impact.contacts / cpuS)} contacts per CPU-second; the machine's load changes wall time, less this)`,
);
console.log(
  `  changed ${impact.changed}: ${JSON.stringify(impact.transitions)}; target: ${N} contacts in < 30 s: ${elapsed < 30_000 ? 'met' : 'NOT met'}`,
);
if (sink < 0) console.log(sink);
await store.close();
