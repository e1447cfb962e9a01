import { DEFAULT_RULESET, loadRuleset, parseMessageRequest } from '@signalbox/engine';
import { openSqlite } from '../src/db/sqlite.js';
import { spawnThread } from '../src/dry-run/spawn.js';
import { Store } from '../src/store/store.js';

const file = process.argv[2] as string;
const store = new Store(await openSqlite(file));
const AT = Date.parse('2026-11-23T09:00:00Z');
const rs = loadRuleset(DEFAULT_RULESET);
const t0 = performance.now();
const th = spawnThread('./dry-run-thread', {
  database: store.location,
  baseline: rs.source,
  candidate: rs.source,
  sample: { kind: 'contacts', at: AT, requests: [parseMessageRequest({ type: 'service' })] },
  pageSize: 4000,
  helpers: Number(process.argv[3] ?? 1),
});
th.on('message', (m: { type: string; done?: number }) => {
  console.log((performance.now() - t0).toFixed(0), m.type, m.done);
  if (m.type !== 'progress') process.exit(0);
});
