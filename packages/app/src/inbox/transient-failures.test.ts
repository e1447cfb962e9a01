/**
 * An event that meets the database away (a restart, a failover, a statement past its deadline) or
 * a deadlock is not at fault: it is tried again within 30 s, up to 20 times, instead of becoming a
 * dead letter after the 5 tries an event that is itself wrong gets.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { createRuntime } from '../runtime.js';
import { Store } from '../store/store.js';

async function withSource(fail: () => Error) {
  const db = await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-transient-')), 'signalbox.db'));
  const store = new Store(db);
  const clock = new TestClock(new Date('2026-11-23T07:00:00Z'));
  const runtime = createRuntime({
    store,
    ruleset: () => loadRuleset(DEFAULT_RULESET),
    providers: new Map(),
    clock,
    log: createLogger('silent'),
    lease: { ms: 30_000, owner: 'test' },
    extend: () => ({
      sources: [
        {
          source: 'flaky',
          prepare: async () => {
            throw fail();
          },
        },
      ],
    }),
  });
  await store.inbox.accept({ source: 'flaky', eventId: 'e-1', type: 'raw', payload: {}, stage: 'raw' }, clock.now().getTime());
  const attempts = async () => {
    const r = await db.db.selectFrom('inbox').select(['attempts', 'dead_at']).executeTakeFirstOrThrow();
    return { attempts: Number(r.attempts), dead: r.dead_at !== null };
  };
  return { store, clock, runtime, attempts };
}

describe('an event meeting the database away', () => {
  for (const [what, fail] of [
    ['a terminated session', () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a deadlock', () => Object.assign(new Error('deadlock detected'), { code: '40P01' })],
  ] as const)
    it(`${what}: retried within 30 s, 20 tries before a dead letter`, async () => {
      const t = await withSource(fail);
      try {
        for (let i = 1; i < 20; i++) {
          await t.runtime.round();
          expect(await t.attempts()).toEqual({ attempts: i, dead: false });
          t.clock.advance(30_001);
        }
        await t.runtime.round();
        expect(await t.attempts()).toEqual({ attempts: 20, dead: true });
      } finally {
        await t.store.close();
      }
    });

  it('an event that is itself wrong is still a dead letter after 5 tries', async () => {
    const t = await withSource(() => new Error('not E.164'));
    try {
      for (let i = 1; i < 5; i++) {
        await t.runtime.round();
        expect(await t.attempts()).toEqual({ attempts: i, dead: false });
        t.clock.advance(8_001);
      }
      await t.runtime.round();
      expect(await t.attempts()).toEqual({ attempts: 5, dead: true });
    } finally {
      await t.store.close();
    }
  });
});
