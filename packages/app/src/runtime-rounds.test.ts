/**
 * A worker's round on PostgreSQL runs its sides (units side by side) only where there is work: one
 * look at the head of the timers for the whole round, not one per side.
 */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from './clock.js';
import { dropPostgresSchema, openPostgres } from './db/postgres.js';
import { createLogger } from './logger.js';
import { createRuntime } from './runtime.js';
import { Store } from './store/store.js';
import { TEST_DATABASE_URL } from './store/testing.js';

const T = Date.parse('2026-11-23T10:00:00Z');
const RULESET = loadRuleset(DEFAULT_RULESET);
const schema = `t_rr_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
afterAll(() => dropPostgresSchema(TEST_DATABASE_URL, schema));

describe('a round of the worker (PostgreSQL, four sides)', () => {
  it('looks at the timers once when none is due, and has its sides claim them when some are', async () => {
    const statements: string[] = [];
    const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 5, onQuery: (sql) => statements.push(sql) });
    const store = new Store(db);
    const clock = new TestClock(new Date(T));
    const runtime = createRuntime({
      store,
      ruleset: () => RULESET,
      providers: new Map(),
      clock,
      log: createLogger('silent'),
      lease: { ms: 30_000, owner: 'test' },
      concurrency: 4,
    });
    const looks = () => statements.filter((s) => /^select "due_at" from "timers"/.test(s)).length;
    const claims = () => statements.filter((s) => /^select "id" from "timers" where .* for update skip locked/s.test(s)).length;
    try {
      await store.timers.schedule({ kind: 'step', messageId: 'm-later', step: 0 }, T + 60_000, T);
      statements.length = 0;
      expect(await runtime.round()).toBe(0);
      expect([looks(), claims()]).toEqual([1, 0]);
      // due now: the sides claim it (one of them gets it; the handler finds no such message)
      clock.advance(60_001);
      statements.length = 0;
      await runtime.round();
      expect(looks()).toBeGreaterThanOrEqual(1);
      expect(claims()).toBeGreaterThanOrEqual(1);
      const [timer] = await db.db.selectFrom('timers').select(['claim_owner']).execute();
      expect(timer?.claim_owner).not.toBeNull();
    } finally {
      await store.close();
    }
  });
});
