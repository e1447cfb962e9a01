import { DEFAULT_RULESET, loadRuleset, RulesetInvalidError } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import type { Store } from '../store/store.js';
import { storeFactories } from '../store/testing.js';
import { RulesGovernance, StalePublishError } from './governance.js';
import { RulesHolder } from './rules-holder.js';

const T = '2026-11-23T07:00:00Z';
type Doc = { version: string; caps: Array<{ id: string; max: number }>; quietHours: { default: { start: string } } };
const doc = (version: string, change: (d: Doc) => void = () => undefined) => {
  const d = structuredClone(DEFAULT_RULESET) as unknown as Doc;
  d.version = version;
  change(d);
  return d;
};

describe.each(storeFactories)('rules governance: $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let holder: RulesHolder;
  let gov: RulesGovernance;
  const swaps: string[] = [];
  const clock = new TestClock(new Date(T));
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    holder = new RulesHolder(loadRuleset(DEFAULT_RULESET));
    holder.onChange((rs) => swaps.push(rs.version));
    gov = new RulesGovernance(holder, clock);
  });
  afterAll(async () => dispose());

  it('the ruleset it started with becomes version 1 the first time anyone asks', async () => {
    const v = await gov.active(store);
    expect(v).toMatchObject({ number: 1, label: 'default-2026.12', author: 'system', basedOn: null });
    expect(v.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await gov.active(store)).number).toBe(1);
  });

  it('asked by many at once on a fresh database (two admins opening the console, two instances), version 1 is made once and every one gets it', async () => {
    const fresh = await factory.open();
    try {
      const govs = [0, 1, 2, 3, 4, 5].map(() => new RulesGovernance(new RulesHolder(loadRuleset(DEFAULT_RULESET)), clock));
      const got = await Promise.all(govs.map((g) => g.active(fresh.store)));
      expect(got.map((v) => v.number)).toEqual([1, 1, 1, 1, 1, 1]);
      expect((await fresh.store.rules.versions(10)).map((v) => v.number)).toEqual([1]);
      expect(await fresh.store.audit.list({ action: 'rules.bootstrap' })).toHaveLength(1);
    } finally {
      await fresh.dispose();
    }
  });

  it('publishes numbered, immutable versions with author, reason and hash; the pointer and the holder move', async () => {
    clock.advance(1000);
    const { version } = await gov.publish(store, {
      document: doc('tighter', (d) => {
        (d.caps[0] as { max: number }).max = 0;
      }),
      reason: 'no promo this week',
      basedOn: 1,
      actor: 'admin:ops',
    });
    expect(version).toMatchObject({ number: 2, label: 'tighter', author: 'admin:ops', reason: 'no promo this week', basedOn: 1 });
    expect(holder.get().version).toBe('tighter');
    expect(swaps.at(-1)).toBe('tighter');
    expect((await store.rules.pointer())?.number).toBe(2);
    // version 1 is unchanged
    expect((((await store.rules.version(1))?.document ?? {}) as Doc).caps[0]?.max).toBe(1);
    const audit = await store.audit.page({ action: 'rules.publish' }, 10);
    expect(audit[0]).toMatchObject({
      actor: 'admin:ops',
      subject: 'tighter',
      detail: { number: 2, previous: 1, reason: 'no promo this week' },
    });
  });

  it('refuses a publish based on a stale version, with the diff to the active one', async () => {
    const err = await gov
      .publish(store, { document: doc('late'), reason: 'late edit', basedOn: 1, actor: 'admin:ops' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalePublishError);
    const stale = err as StalePublishError;
    expect(stale.status).toBe(409);
    expect(stale.current).toBe(2);
    expect(stale.diff.items).toContainEqual(
      expect.objectContaining({ section: 'caps', key: 'promo-daily', change: 'changed', pointer: '/caps/0' }),
    );
    expect((await store.rules.versions(10)).map((v) => v.number)).toEqual([2, 1]);
  });

  it('of two publishes based on the same version exactly one wins', async () => {
    const results = await Promise.allSettled([
      gov.publish(store, { document: doc('race-a'), reason: 'race a', basedOn: 2, actor: 'admin:a' }),
      gov.publish(store, { document: doc('race-b'), reason: 'race b', basedOn: 2, actor: 'admin:b' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StalePublishError);
    expect((await store.rules.pointer())?.number).toBe(3);
    expect((await store.rules.versions(10)).map((v) => v.number)).toEqual([3, 2, 1]);
  });

  it('never stores a version that does not validate', async () => {
    await expect(
      gov.publish(store, {
        document: doc('broken', (d) => {
          d.quietHours.default.start = '8';
        }),
        reason: 'oops',
        basedOn: 3,
        actor: 'admin:ops',
      }),
    ).rejects.toBeInstanceOf(RulesetInvalidError);
    expect((await store.rules.versions(10)).length).toBe(3);
  });

  it('rolls back to a named version: pointer, holder and audit move; no version is created', async () => {
    const r = await gov.rollback(store, { to: 1, reason: 'campaign complaints', actor: 'admin:ops' });
    expect(r).toMatchObject({ previous: 3, version: { number: 1 } });
    expect(holder.get().version).toBe('default-2026.12');
    expect((await store.rules.pointer())?.number).toBe(1);
    expect((await store.rules.versions(10)).length).toBe(3);
    const [line] = await store.audit.page({ action: 'rules.*' }, 1);
    expect(line).toMatchObject({ action: 'rules.rollback', detail: { from: 3, to: 1, reason: 'campaign complaints' } });
    await expect(gov.rollback(store, { to: 1, reason: 'again', actor: 'admin:ops' })).rejects.toMatchObject({
      code: 'RULES_VERSION_ACTIVE',
    });
    await expect(gov.rollback(store, { to: 99, reason: 'nowhere', actor: 'admin:ops' })).rejects.toMatchObject({
      code: 'RULES_VERSION_NOT_FOUND',
    });
  });

  it('keeps drafts, valid or not, with their problems, never active', async () => {
    const good = await gov.saveDraft(store, doc('draft-ok'), 'admin:ops');
    const bad = await gov.saveDraft(
      store,
      doc('draft-bad', (d) => {
        d.quietHours.default.start = '25:00';
      }),
      'admin:ops',
    );
    expect(good.valid).toBe(true);
    expect(bad.valid).toBe(false);
    expect(bad.problems.map((p) => p.path)).toContain('/quietHours/default/start');
    expect((await gov.draft(store, bad.id)).problems).toEqual(bad.problems);
    expect((await store.drafts.list(10)).map((x) => x.id)).toEqual([bad.id, good.id]);
    expect((await store.rules.pointer())?.number).toBe(1);
  });

  it('pages the audit log newest first, filtered by action prefix, actor and time', async () => {
    const all = await store.audit.page({}, 100);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const first = await store.audit.page({ action: 'rules.*' }, 2);
    const rest = await store.audit.page({ action: 'rules.*' }, 100, { at: first[1]?.at ?? 0, id: first[1]?.id ?? '' });
    // the two drafts stored above are changes of their own, newest first
    expect([...first, ...rest].map((e) => e.action)).toEqual([
      'rules.draft',
      'rules.draft',
      'rules.rollback',
      'rules.publish',
      'rules.publish',
      'rules.bootstrap',
    ]);
    expect((await store.audit.page({ actor: 'admin:a' }, 10)).length + (await store.audit.page({ actor: 'admin:b' }, 10)).length).toBe(1);
    expect(await store.audit.page({ from: Date.parse(T) + 10 * 60_000 }, 10)).toEqual([]);
  });
});

describe.each(storeFactories)("rules governance against the deployment's providers: $name", (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  const clock = new TestClock(new Date(T));
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());
  const viaTwilio = (version: string) =>
    doc(version, (d) => {
      const channels = (d as unknown as { channels: Record<string, { provider?: string }> }).channels;
      (channels.sms as { provider?: string }).provider = 'twilio';
      (channels.whatsapp as { provider?: string }).provider = 'twilio';
    });

  it('a channel naming a provider this deployment does not have is refused at publish, in drafts and by validate, at its path', async () => {
    const here = new RulesGovernance(new RulesHolder(loadRuleset(DEFAULT_RULESET)), clock, new Set(['sandbox']));
    await here.active(store);
    const err = (await here
      .publish(store, { document: viaTwilio('twilio-here'), reason: 'move SMS', basedOn: 1, actor: 'admin:ops' })
      .catch((e: unknown) => e)) as RulesetInvalidError;
    expect(err).toBeInstanceOf(RulesetInvalidError);
    expect(err.problems).toEqual([
      { path: '/channels/sms/provider', message: 'provider "twilio" is not configured on this deployment (it has sandbox)' },
      { path: '/channels/whatsapp/provider', message: 'provider "twilio" is not configured on this deployment (it has sandbox)' },
    ]);
    expect((await store.rules.versions(10)).map((v) => v.number)).toEqual([1]);
    const draft = await here.saveDraft(store, viaTwilio('twilio-draft'), 'admin:ops');
    expect(draft.valid).toBe(false);
    expect(draft.problems.map((p) => p.path)).toEqual(['/channels/sms/provider', '/channels/whatsapp/provider']);
    expect(here.validate(viaTwilio('x'))).toMatchObject({ ok: false, problems: err.problems });
    expect(here.validate(doc('plain'))).toMatchObject({ ok: true });
    // where twilio is configured, the same document publishes
    const there = new RulesGovernance(new RulesHolder(loadRuleset(DEFAULT_RULESET)), clock, new Set(['sandbox', 'twilio']));
    const { version } = await there.publish(store, {
      document: viaTwilio('twilio-there'),
      reason: 'move SMS',
      basedOn: 1,
      actor: 'admin:ops',
    });
    expect(version.number).toBe(2);
    await there.publish(store, { document: doc('back'), reason: 'back to the sandbox', basedOn: 2, actor: 'admin:ops' });
    // a deployment without twilio cannot roll back to it: every SMS would fail
    await expect(here.rollback(store, { to: 2, reason: 'undo', actor: 'admin:ops' })).rejects.toMatchObject({
      code: 'RULES_VERSION_UNLOADABLE',
      status: 409,
      problems: err.problems,
    });
    expect((await store.rules.pointer())?.number).toBe(3);
    await there.rollback(store, { to: 2, reason: 'undo', actor: 'admin:ops' });
    expect((await store.rules.pointer())?.number).toBe(2);
  });
});
