/**
 * Story 15, "a rules change, tried first": versions, drafts, diff, a dry run over the stored
 * contacts, publish based on a version (a stale one refused with the diff), rollback, the audit
 * log; roles; malformed input answered with paths. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { rulesetWith, suppressIn } from '../support/rulesets.js';

const MORNING = '2026-11-23T09:00:00Z';

async function waitForDryRun(h: Harness, id: string) {
  for (let i = 0; i < 600; i++) {
    const r = await h.api('admin').get(`/api/v1/rules/dry-runs/${id}`).expect(200);
    if (r.body.status !== 'running') return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('dry run did not finish');
}

describe.each([{ name: 'sqlite' }, { name: 'postgres' }])('rules governance over HTTP: $name', ({ name }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      at: MORNING,
      storyTemplates: false,
      ...(name === 'postgres' ? { postgresSchema: `gov_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
    });
    const contacts = [
      ...Array.from({ length: 30 }, (_, i) => ({
        identities: [{ kind: 'phone', value: `+2547000${String(i).padStart(5, '0')}` }],
        market: 'KE',
      })),
      ...Array.from({ length: 20 }, (_, i) => ({
        identities: [{ kind: 'phone', value: `+4915100${String(i).padStart(5, '0')}` }],
        market: 'DE',
      })),
    ];
    await h.api('integration').post('/api/v1/contacts/import').send(contacts).expect(200);
  });
  afterAll(async () => h.close());

  it('the active ruleset is version 1; its number is the ETag', async () => {
    const r = await h.api('agent').get('/api/v1/rules').expect(200);
    expect(r.body).toMatchObject({ version: 'default-2026.12', number: 1 });
    expect(r.headers.etag).toBe('"1"');
    const versions = await h.api('agent').get('/api/v1/rules/versions').expect(200);
    expect(versions.body).toMatchObject({ active: 1, items: [{ number: 1, label: 'default-2026.12', active: true }], next: null });
  });

  let draftId: string;
  it('a draft is stored without activating it; a broken one comes back with its problems at their pointers', async () => {
    const broken = await h
      .api('admin')
      .post('/api/v1/rules/drafts')
      .send({ document: rulesetWith('broken', (d) => (d.quietHours.default.start = '25:00')) })
      .expect(201);
    expect(broken.body.valid).toBe(false);
    expect(broken.body.problems.map((p: { path: string }) => p.path)).toContain('/document/quietHours/default/start');
    // read back, the draft's problems point into its document as they did when it was stored
    const stored = await h.api('admin').get(`/api/v1/rules/drafts/${broken.body.id}`).expect(200);
    expect(stored.body.problems.map((p: { path: string }) => p.path)).toContain('/document/quietHours/default/start');
    // a broken draft can be neither dry-run nor published
    const dry = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ draftId: broken.body.id, sample: { kind: 'contacts', messageTypes: ['service'] } })
      .expect(422);
    expect(dry.body.code).toBe('RULES_INVALID');
    await h.api('admin').post('/api/v1/rules/versions').send({ draftId: broken.body.id, reason: 'try', basedOn: 1 }).expect(422);

    const good = await h
      .api('admin')
      .post('/api/v1/rules/drafts')
      .send({ document: rulesetWith('no-service-ke', (d) => d.rules.unshift(suppressIn('KE', 'service'))) })
      .expect(201);
    expect(good.body).toMatchObject({ valid: true, problems: [], basedOn: 1 });
    expect(good.body.diff.items).toHaveLength(2);
    expect(good.body.diff.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ section: 'rules', key: 'no-service-ke', change: 'added', pointer: '/rules/0' }),
        expect.objectContaining({
          section: 'version',
          change: 'changed',
          changes: [{ op: 'replace', pointer: '/version', from: 'default-2026.12', to: 'no-service-ke' }],
        }),
      ]),
    );
    draftId = good.body.id;
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.number).toBe(1);
  });

  it('the diff names what changed, with pointers', async () => {
    const r = await h.api('admin').get(`/api/v1/rules/diff?from=1&to=${draftId}`).expect(200);
    // drafts are the admins': an agent diffs published versions, not what an admin has not published
    for (const q of [`from=1&to=${draftId}`, `from=${draftId}&to=1`]) {
      const forbidden = await h.api('agent').get(`/api/v1/rules/diff?${q}`).expect(403);
      expect(forbidden.body).toMatchObject({
        code: 'ROLE_FORBIDDEN',
        errors: [{ path: q.startsWith('from=1') ? '/query/to' : '/query/from' }],
      });
    }
    await h.api('agent').get('/api/v1/rules/diff?from=1&to=active').expect(200);
    const rule = r.body.items.find((i: { key: string }) => i.key === 'no-service-ke');
    expect(rule.changes[0]).toMatchObject({ op: 'add', pointer: '/rules/0' });
    expect(r.body.summary.rules).toEqual({ added: 1, removed: 0, changed: 0 });
    const bad = await h.api('agent').get('/api/v1/rules/diff?to=nope').expect(400);
    expect(bad.body.errors[0].path).toBe('/query/to');
  });

  let dryRunId: string;
  it('a dry run naming a version that is not there points at the field that named it', async () => {
    const sample = { kind: 'contacts', messageTypes: ['otp'] };
    for (const [body, path] of [
      [{ version: 99999, sample }, '/version'],
      [{ draftId, against: 99999, sample }, '/against'],
    ] as const) {
      const res = await h.api('admin').post('/api/v1/rules/dry-run').send(body).expect(404);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
    const twice = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ draftId, sample: { kind: 'contacts', messageTypes: ['otp', 'otp'] } })
      .expect(400);
    expect(twice.body.errors.map((e: { path: string }) => e.path)).toEqual(['/sample/messageTypes']);
    const urgent = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ draftId, sample: { kind: 'contacts', messageTypes: ['otp'], priority: 'urgent' } })
      .expect(400);
    expect(urgent.body.errors.map((e: { path: string }) => e.path)).toEqual(['/sample/priority']);
  });

  it('a dry run over every stored contact shows the impact per market, with examples and both reasons', async () => {
    const started = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ draftId, sample: { kind: 'contacts', messageTypes: ['service', 'otp'], team: 'care', at: MORNING } })
      .expect(202);
    expect(started.body.status).toBe('running');
    dryRunId = started.body.id;
    const done = await waitForDryRun(h, dryRunId);
    expect(done.status).toBe('done');
    const impact = done.result.impact;
    expect(impact).toMatchObject({ contacts: 50, decisions: 100, changed: 30 });
    expect(impact.transitions).toEqual({ 'send→suppress': 30 });
    const ke = impact.groups.find((g: { market: string; messageType: string }) => g.market === 'KE' && g.messageType === 'service');
    expect(ke).toMatchObject({ team: 'care', decisions: 30, changed: 30, baseline: { send: 30 }, candidate: { suppress: 30 } });
    expect(ke.baseline.cost).toBeGreaterThan(0);
    expect(ke.candidate.cost).toBe(0);
    const de = impact.groups.find((g: { market: string; messageType: string }) => g.market === 'DE' && g.messageType === 'service');
    expect(de.changed).toBe(0);
    const examples = impact.examples['send→suppress'];
    expect(examples).toHaveLength(20);
    expect(examples[0].candidate.reasons).toContainEqual(expect.objectContaining({ rule: 'no-service-ke' }));
    expect(examples[0].baseline.outcome).toBe('send');
  });

  it('publishes the draft based on version 1 with a reason; a second publish based on 1 is refused 409 with the diff', async () => {
    const missing = await h.api('admin').post('/api/v1/rules/versions').send({ draftId, reason: 'tighten' }).expect(400);
    expect(missing.body.errors[0].path).toBe('/basedOn');
    const pub = await h
      .api('admin')
      .post('/api/v1/rules/versions')
      .set('if-match', '"1"')
      .send({ draftId, reason: 'pause service messages in Kenya', dryRunId })
      .expect(201);
    expect(pub.body).toMatchObject({ number: 2, published: 'no-service-ke', etag: '"2"' });
    const stale = await h
      .api('admin')
      .post('/api/v1/rules/versions')
      .send({ document: rulesetWith('other'), reason: 'my own edit', basedOn: 1 })
      .expect(409);
    expect(stale.headers['content-type']).toMatch(/problem\+json/);
    expect(stale.body).toMatchObject({ code: 'RULES_VERSION_STALE', basedOn: 1, current: 2 });
    expect(stale.body.diff.items.map((i: { key: string }) => i.key)).toContain('no-service-ke');
    // decisions use it at once
    const d = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ message: { type: 'service' }, contact: { identities: [{ kind: 'phone', value: '+254700000001' }], market: 'KE' } })
      .expect(200);
    expect(d.body.decision.outcome).toBe('suppress');
  });

  it('rolls back to version 1 in one call, audited; agents and integrations cannot', async () => {
    const agent = await h.api('agent').post('/api/v1/rules/rollback').send({ to: 1, reason: 'nope' }).expect(403);
    expect(agent.body.code).toBe('ROLE_FORBIDDEN');
    await h.api('integration').post('/api/v1/rules/rollback').send({ to: 1, reason: 'nope' }).expect(403);
    const bad = await h.api('admin').post('/api/v1/rules/rollback').send({ to: 'one', reason: 'x' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['/to', '/reason']);
    // a version is a number in a body and digits in a path: nothing is converted into one
    for (const to of [true, [1], '1', '  1  '])
      expect((await h.api('admin').post('/api/v1/rules/rollback').send({ to, reason: 'wrong type' }).expect(400)).body.errors[0].path).toBe(
        '/to',
      );
    for (const n of ['1e3', '0x1', '01', '1.0', '99999999999']) {
      const res = await h.api('agent').get(`/api/v1/rules/versions/${n}`).expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['/path/n']);
    }
    const r = await h.api('admin').post('/api/v1/rules/rollback').send({ to: 1, reason: 'Kenyan customers complained' }).expect(200);
    expect(r.body).toMatchObject({ active: 1, previous: 2 });
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('default-2026.12');
    const audit = await h.api('admin').get('/api/v1/audit?action=rules.*').expect(200);
    type Entry = { action: string; actor: string; subject: string; detail: Record<string, unknown> };
    const items = audit.body.items as Entry[];
    expect(items.map((e) => e.action).filter((a) => a !== 'rules.draft' && a !== 'rules.dry_run')).toEqual([
      'rules.rollback',
      'rules.publish',
      'rules.bootstrap',
    ]);
    expect(items.find((e) => e.action === 'rules.publish')?.detail).toMatchObject({
      reason: 'pause service messages in Kenya',
      dryRun: { id: dryRunId, matches: true },
    });
    // drafts and dry runs are changes of their own: who made them, and when
    expect(items.find((e) => e.action === 'rules.draft' && e.detail.draftId === draftId)).toMatchObject({ actor: 'admin:ops' });
    expect(items.find((e) => e.action === 'rules.dry_run' && e.subject === dryRunId)).toMatchObject({
      actor: 'admin:ops',
      detail: { sample: 'contacts' },
    });
    await h.api('agent').get('/api/v1/audit').expect(403);
    const badQuery = await h.api('admin').get('/api/v1/audit?action=RULES&limit=0').expect(400);
    expect(badQuery.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/query/action', '/query/limit']);
  });

  it('replays the requests of the last days at their original times', async () => {
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: { identities: [{ kind: 'phone', value: '+254700000003' }] }, message: { type: 'service', team: 'care' } })
      .expect(202);
    const started = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ version: 2, sample: { kind: 'requests', days: 7 } })
      .expect(202);
    const done = await waitForDryRun(h, started.body.id);
    expect(done.result.impact).toMatchObject({ decisions: 1, changed: 1, transitions: { 'send→suppress': 1 } });
  });

  it('of two publishes over HTTP based on the active version at the same moment, exactly one wins; the other gets 409', async () => {
    const active = String((await h.api('agent').get('/api/v1/rules').expect(200)).headers.etag);
    const answers = await Promise.all(
      ['race-a', 'race-b'].map((label) =>
        h
          .api('admin')
          .post('/api/v1/rules/versions')
          .set('if-match', active)
          .send({ document: rulesetWith(label), reason: `race ${label}` }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const won = answers.find((a) => a.status === 201);
    const lost = answers.find((a) => a.status === 409);
    expect(lost?.body.code).toBe('RULES_VERSION_STALE');
    expect(lost?.body.current).toBe(won?.body.number);
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe(won?.body.published);
    const versions = await h.api('admin').get('/api/v1/rules/versions').expect(200);
    expect(versions.body.items.filter((v: { label: string }) => v.label.startsWith('race-'))).toHaveLength(1);
  });

  it('a channel naming a provider this deployment does not have: 422 at its path from validate and publish; a draft keeps the problem', async () => {
    const viaTelerivet = rulesetWith('sms-via-telerivet', (d) => {
      ((d.channels as Record<string, { provider?: string }>).sms as { provider?: string }).provider = 'telerivet';
    });
    const problem = {
      path: '/channels/sms/provider',
      message: 'provider "telerivet" is not configured on this deployment (it has sandbox)',
    };
    const validate = await h.api('admin').post('/api/v1/rules/validate').send(viaTelerivet).expect(422);
    expect(validate.body).toMatchObject({ code: 'RULES_INVALID', errors: [problem] });
    const active = String((await h.api('agent').get('/api/v1/rules').expect(200)).headers.etag);
    const publish = await h
      .api('admin')
      .post('/api/v1/rules/versions')
      .set('if-match', active)
      .send({ document: viaTelerivet, reason: 'SMS through Telerivet' })
      .expect(422);
    expect(publish.body.errors).toEqual([{ ...problem, path: `/document${problem.path}` }]);
    expect(publish.body.detail).toContain('/document/channels/sms/provider');
    const legacy = await h
      .api('admin')
      .put('/api/v1/rules')
      .set('x-signalbox-reason', 'SMS through Telerivet')
      .send(viaTelerivet)
      .expect(422);
    expect(legacy.body.errors).toEqual([problem]);
    const draft = await h.api('admin').post('/api/v1/rules/drafts').send({ document: viaTelerivet }).expect(201);
    expect(draft.body).toMatchObject({ valid: false, problems: [{ ...problem, path: `/document${problem.path}` }] });
    // nor dry-run or simulated, posted or as the draft
    const dry = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ document: viaTelerivet, sample: { kind: 'contacts', messageTypes: ['otp'] } })
      .expect(422);
    expect(dry.body.errors).toEqual([{ ...problem, path: `/document${problem.path}` }]);
    // a draft's problems are located at the field naming it, saying where in the draft they are
    const inDraft = { path: '/draftId', message: `the draft's /document${problem.path}: ${problem.message}` };
    const dryDraft = await h
      .api('admin')
      .post('/api/v1/rules/dry-run')
      .send({ draftId: draft.body.id, sample: { kind: 'contacts', messageTypes: ['otp'] } })
      .expect(422);
    expect(dryDraft.body.errors).toEqual([inDraft]);
    const publishDraft = await h
      .api('admin')
      .post('/api/v1/rules/versions')
      .set('if-match', active)
      .send({ draftId: draft.body.id, reason: 'SMS through Telerivet' })
      .expect(422);
    expect(publishDraft.body).toMatchObject({ code: 'RULES_INVALID', errors: [inDraft] });
    const script = {
      journeyId: 'payment-reminder',
      contact: { identities: [{ kind: 'phone', value: '+254700000001' }], timezone: 'Africa/Nairobi' },
      events: [{ type: 'invoice.overdue', day: 0, object: { type: 'invoice', id: 'inv-9' } }],
    };
    const simDraft = await h
      .api('admin')
      .post('/api/v1/journeys/simulate')
      .send({ ...script, ruleset: { draftId: draft.body.id } })
      .expect(422);
    expect(simDraft.body.errors).toEqual([{ ...inDraft, path: '/ruleset/draftId' }]);
    // a draft is the admins': an agent may not simulate it (its templates would be in the timeline)
    const agentDraft = await h
      .api('agent')
      .post('/api/v1/journeys/simulate')
      .send({ ...script, ruleset: { draftId: draft.body.id } })
      .expect(403);
    expect(agentDraft.body).toMatchObject({ code: 'ROLE_FORBIDDEN', errors: [{ path: '/ruleset/draftId' }] });
    const simDoc = await h
      .api('admin')
      .post('/api/v1/journeys/simulate')
      .send({ ...script, ruleset: { document: viaTelerivet } })
      .expect(422);
    expect(simDoc.body.errors).toEqual([{ ...problem, path: `/ruleset/document${problem.path}` }]);
    await h.api('admin').post('/api/v1/journeys/simulate').send(script).expect(200);
    expect(String((await h.api('agent').get('/api/v1/rules').expect(200)).headers.etag)).toBe(active);
  });
});
