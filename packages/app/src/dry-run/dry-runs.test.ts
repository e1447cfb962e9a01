import { DEFAULT_RULESET, loadRuleset, parseMessageRequest } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { createLogger } from '../logger.js';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { DRY_RUN_SILENT_MS, DryRuns } from './dry-runs.js';

const T = '2026-11-23T09:00:00Z';
const rs = loadRuleset(DEFAULT_RULESET);
const start = (dryRuns: DryRuns, clock: TestClock) =>
  dryRuns.start({
    candidate: { ruleset: rs.source, ref: 'document', hash: 'h' },
    baseline: { ruleset: rs.source, number: 1, label: rs.version },
    sample: { kind: 'contacts', at: clock.now().getTime(), requests: [parseMessageRequest({ type: 'service' })] },
    author: 'admin:ops',
  });

describe.each(storeFactories)('dry runs that do not finish: $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  const clock = new TestClock(new Date(T));
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  it('a dry run whose thread crashes (out of memory) is marked failed with its error, and the next one may start', async () => {
    const dryRuns = new DryRuns({
      repo: () => store.dryRuns,
      location: store.location,
      clock,
      log: createLogger('silent'),
      threadMemoryMb: 2,
    });
    const rec = await start(dryRuns, clock);
    expect(rec.status).toBe('running');
    await dryRuns.idle();
    const failed = await dryRuns.get(rec.id);
    expect(failed).toMatchObject({ status: 'failed', result: null });
    expect(failed?.error).toMatch(/memory/i);
    // nothing is left running here: another starts (and is stopped, which fails it too)
    const next = await start(dryRuns, clock);
    await dryRuns.stop();
    expect(await dryRuns.get(next.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/exited/) });
  }, 60_000);

  it('one left running by an instance that stopped is reported failed once nothing was heard from it for a minute', async () => {
    const other = new DryRuns({ repo: () => store.dryRuns, location: store.location, clock, log: createLogger('silent') });
    const id = '01a2b000-0000-7000-8000-000000000001';
    await store.dryRuns.create({ id, spec: {}, candidateHash: 'h', baselineNumber: 1, author: 'admin:ops' }, clock.now().getTime());
    clock.advance(DRY_RUN_SILENT_MS - 1000);
    // still within the minute: another instance may be running it
    expect((await other.get(id))?.status).toBe('running');
    await store.dryRuns.progress(id, 10, 100, clock.now().getTime());
    clock.advance(DRY_RUN_SILENT_MS - 1000);
    expect((await other.get(id))?.status).toBe('running');
    clock.advance(2000);
    const gone = await other.get(id);
    expect(gone).toMatchObject({ status: 'failed', done: 10, total: 100 });
    expect(gone?.error).toMatch(/^the instance running it stopped before it finished/);
    // a finished one is never touched
    clock.advance(DRY_RUN_SILENT_MS * 10);
    expect(await other.get(id)).toEqual(gone);
  });
});
