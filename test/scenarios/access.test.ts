/** Least privilege and signed hooks, through HTTP. */

import { connect } from 'node:net';
import { sign } from '@signalbox/app';
import { DEFAULT_RULESET } from '@signalbox/engine';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, KEYS, SANDBOX_SECRET, startHarness } from '../support/harness.js';

let h: Harness;
let contactId: string;
beforeAll(async () => {
  h = await startHarness({ at: '2026-11-23T07:00:00Z' });
  const r = await h
    .api('integration')
    .post('/api/v1/contacts')
    .send({ identities: [{ kind: 'phone', value: '+254722000001' }], market: 'KE' })
    .expect(201);
  contactId = r.body.contact.id;
});
afterAll(async () => h.close());

describe('roles', () => {
  it('an agent key cannot change rules', async () => {
    const doc = { ...(structuredClone(DEFAULT_RULESET) as Record<string, unknown>), version: 'agent-edit' };
    const r = await h.api('agent').put('/api/v1/rules').send(doc).expect(403);
    expect(r.body.code).toBe('ROLE_FORBIDDEN');
    await h.api('integration').put('/api/v1/rules').send(doc).expect(403);
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('default-2026.12');
  });
  it('an admin publishes a new version, validated first, and decisions use it at once', async () => {
    const bad = {
      ...(structuredClone(DEFAULT_RULESET) as Record<string, unknown>),
      version: 'broken',
      quietHours: { default: { start: '8', end: '21:00' } },
    };
    const refused = await h.api('admin').put('/api/v1/rules').send(bad).expect(422);
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toContain('/quietHours/default/start');
    const doc = structuredClone(DEFAULT_RULESET) as { version: string; caps: Array<{ max: number }> };
    doc.version = 'tighter-caps';
    await h.api('admin').put('/api/v1/rules').send(doc).expect(200);
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('tighter-caps');
    const d = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ message: { type: 'otp' }, contact: { id: 'x', identities: [{ kind: 'phone', value: '+254700000001' }] } })
      .expect(200);
    expect(d.body.decision.rulesetVersion).toBe('tighter-caps');
    const audit = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'rules.publish').execute();
    expect(audit.map((a) => [a.actor, a.subject])).toEqual([['admin:ops', 'tighter-caps']]);
  });
  it('PUT honours If-Match (a stale one is 409 with the diff); its reason header is read as UTF-8 and held to what a reason is', async () => {
    const active = await h.api('agent').get('/api/v1/rules').expect(200);
    const doc = { ...(structuredClone(DEFAULT_RULESET) as Record<string, unknown>), version: 'put-if-match' };
    const stale = await h.api('admin').put('/api/v1/rules').set('if-match', '"1"').send(doc).expect(409);
    expect(stale.body).toMatchObject({ code: 'RULES_VERSION_STALE', basedOn: 1, current: active.body.number });
    // a number no version can have is refused as input, never looked up
    const huge = await h.api('admin').put('/api/v1/rules').set('if-match', '"9999999999"').send(doc).expect(400);
    expect(huge.body.errors[0].path).toBe('/headers/if-match');
    const short = await h.api('admin').put('/api/v1/rules').set('x-signalbox-reason', 'a').send(doc).expect(400);
    expect(short.body.errors[0].path).toBe('/headers/x-signalbox-reason');
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe(active.body.version);
    // the header's bytes as curl sends them (UTF-8); Node's own client would not send them raw
    const body = JSON.stringify(doc);
    const { hostname: host, port } = new URL(h.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), host, () => {
        socket.write(
          Buffer.concat([
            Buffer.from(
              `PUT /api/v1/rules HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${KEYS.admin}\r\ncontent-type: application/json\r\n` +
                `if-match: ${active.headers.etag}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-signalbox-reason: `,
            ),
            Buffer.from('Zürich café ✓', 'utf8'),
            Buffer.from(`\r\n\r\n${body}`),
          ]),
        );
      });
      let out = '';
      socket.on('data', (c) => (out += c.toString()));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    const number = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).number;
    const version = (await h.api('admin').get(`/api/v1/rules/versions/${number}`).expect(200)).body;
    expect(version.reason).toBe('Zürich café ✓');
  });
  it('the workflows Signalbox names its own messages with are not a caller’s to claim (rules trust them)', async () => {
    for (const workflow of ['consent-keywords', 'journey:payment-reminder']) {
      const r = await h
        .api('integration')
        .post('/api/v1/messages')
        .send({ contact: { id: contactId }, message: { type: 'transactional', workflow, template: 'keyword_stop_confirmation' } })
        .expect(400);
      expect(r.body).toMatchObject({ code: 'WORKFLOW_RESERVED', errors: [{ path: '/message/workflow' }] });
    }
  });
  it('a label names one document: another document under a published label is refused; the same one again is not', async () => {
    const doc = structuredClone(DEFAULT_RULESET) as { version: string; caps: Array<{ max: number }> };
    doc.version = 'tighter-caps';
    // the very document 'tighter-caps' was published with: the same version again, under its label
    await h.api('admin').put('/api/v1/rules').send(doc).expect(200);
    // the same ruleset with its defaults written out (as GET /api/v1/rules answers it) is the same too
    const written = (await h.api('agent').get('/api/v1/rules').expect(200)).body.ruleset;
    expect(JSON.stringify(written)).not.toBe(JSON.stringify(doc));
    await h.api('admin').put('/api/v1/rules').send(written).expect(200);
    (doc.caps[0] as { max: number }).max += 1;
    // labels are written one way: a space around one, a right-to-left override or a blank one is refused
    for (const label of ['tighter-caps ', '\u202etighter-caps', ' ', 'te\u0301st']) {
      const odd = await h
        .api('admin')
        .put('/api/v1/rules')
        .send({ ...doc, version: label })
        .expect(422);
      expect(odd.body.errors.map((e: { path: string }) => e.path)).toContain('/version');
    }
    const taken = await h.api('admin').put('/api/v1/rules').send(doc).expect(409);
    expect(taken.body).toMatchObject({ code: 'RULES_LABEL_TAKEN', errors: [{ path: '/version' }] });
    const active = await h.api('agent').get('/api/v1/rules').expect(200);
    const posted = await h
      .api('admin')
      .post('/api/v1/rules/versions')
      .send({ document: doc, reason: 'same label, other caps', basedOn: active.body.number })
      .expect(409);
    expect(posted.body.errors[0].path).toBe('/document/version');
  });
  it('an agent cannot write consent on behalf of another source; its writes are recorded as agent', async () => {
    const r = await h
      .api('agent')
      .post(`/api/v1/contacts/${contactId}/consent`)
      .send({ channel: 'sms', purpose: 'marketing', status: 'granted', source: 'crm' })
      .expect(403);
    expect(r.body.errors[0].path).toBe('/source');
    const ok = await h
      .api('agent')
      .post(`/api/v1/contacts/${contactId}/consent`)
      .send({ channel: 'sms', purpose: 'marketing', status: 'granted', evidence: 'asked on the phone' })
      .expect(201);
    expect(ok.body.record.source).toBe('agent');
    const crm = await h
      .api('integration')
      .post(`/api/v1/contacts/${contactId}/consent`)
      .send({ channel: 'email', purpose: 'marketing', status: 'granted', source: 'crm' })
      .expect(201);
    expect(crm.body.record.source).toBe('crm');
  });
  it('consent cannot be dated ahead: far ahead is refused at /at, a little ahead is recorded as now, and a later STOP wins', async () => {
    const far = await h
      .api('agent')
      .post(`/api/v1/contacts/${contactId}/consent`)
      .send({ channel: 'sms', purpose: 'service', status: 'granted', at: '2999-01-01T00:00:00Z' })
      .expect(400);
    expect(far.body.errors.map((e: { path: string }) => e.path)).toEqual(['/at']);
    const now = h.clock.now().getTime();
    const ahead = await h
      .api('integration')
      .post(`/api/v1/contacts/${contactId}/consent`)
      .send({ channel: 'sms', purpose: 'service', status: 'granted', at: new Date(now + 2 * 60_000).toISOString() })
      .expect(201);
    expect(ahead.status).toBe(201);
    const ledger = (await h.api('agent').get(`/api/v1/contacts/${contactId}/consent`).expect(200)).body.ledger as Array<{ at: string }>;
    expect(Math.max(...ledger.map((l) => Date.parse(l.at)))).toBeLessThanOrEqual(now);
    // a STOP that comes after it revokes (the line dated ahead does not outrank it)
    await h.advance(1000);
    await h.inbound({ id: 'in-ahead-1', channel: 'sms', from: '+254722000001', text: 'STOP' }).expect(200);
    const after = (await h.api('agent').get(`/api/v1/contacts/${contactId}/consent`).expect(200)).body.ledger as Array<{
      purpose: string;
      status: string;
    }>;
    expect(after.filter((l) => l.purpose === 'service').at(-1)?.status).toBe('revoked');
  });

  it('an integration key cannot read timelines, consent or decisions', async () => {
    for (const path of [
      `/api/v1/contacts/${contactId}`,
      `/api/v1/contacts/${contactId}/consent`,
      `/api/v1/contacts/${contactId}/decisions`,
    ]) {
      const r = await h.api('integration').get(path).expect(403);
      expect(r.body.code).toBe('ROLE_FORBIDDEN');
    }
    await h.api('agent').get(`/api/v1/contacts/${contactId}`).expect(200);
  });
  it('an agent cannot import contacts or post events', async () => {
    await h
      .api('agent')
      .post('/api/v1/contacts/import')
      .send([{ identities: [{ kind: 'phone', value: '+254722000002' }] }])
      .expect(403);
    await h
      .api('agent')
      .post('/api/v1/events')
      .send({ id: 'e', type: 'ticket.opened', occurredAt: '2026-11-23T07:00:00Z', contact: { id: contactId } })
      .expect(403);
  });
});

describe('signed provider hooks', () => {
  const body = JSON.stringify({ providerMessageId: 'nope', status: 'delivered', at: '2026-11-23T07:00:00Z' });
  /** Posts `payload` to the sandbox's receipt hook, signed as the sandbox signs (at `at`, with `secret`). */
  const postReceipts = (payload: string, at = Date.now(), secret = SANDBOX_SECRET) =>
    request(h.url)
      .post('/hooks/providers/sandbox/receipts')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(secret, payload, at))
      .send(payload);
  it('refuse unsigned, forged and stale requests with 401', async () => {
    await request(h.url).post('/hooks/providers/sandbox/receipts').set('content-type', 'application/json').send(body).expect(401);
    await postReceipts(body, Date.now(), 'wrong-secret-0123456789abcdef').expect(401);
    const stale = await request(h.url)
      .post('/hooks/providers/sandbox/receipts')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, body, Date.now() - 6 * 60_000))
      .send(body)
      .expect(401);
    expect(stale.body.detail).toBe('signature stale');
    // a valid signature over a different body is a forgery too
    await request(h.url)
      .post('/hooks/providers/sandbox/receipts')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, body, Date.now()))
      .send(body.replace('nope', 'other'))
      .expect(401);
  });
  it('accept a signed receipt for an unknown message without effect, and name bad fields', async () => {
    await postReceipts(body).expect(202);
    const bad = JSON.stringify({ providerMessageId: 'x', status: 'exploded', at: 'now' });
    const r = await postReceipts(bad).expect(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(['/status', '/at']);
    await request(h.url).post('/hooks/providers/nobody/receipts').send(body).expect(404);
    // a body declared in another charset is refused, as on the API
    const latin1 = await request(h.url)
      .post('/hooks/providers/sandbox/receipts')
      .set('content-type', 'application/json; charset=iso-8859-1')
      .set('signalbox-signature', sign(SANDBOX_SECRET, body, Date.now()))
      .send(body)
      .expect(415);
    expect(latin1.body.errors[0].path).toBe('/headers/content-type');
  });
  it('take receipts in bulk, in order, and name the bad entry of a batch', async () => {
    const batch = JSON.stringify({
      receipts: [
        { providerMessageId: 'nope-1', status: 'delivered', at: '2026-11-23T07:00:00Z' },
        { providerMessageId: 'nope-2', status: 'read', at: '2026-11-23T07:00:01Z' },
      ],
    });
    const ok = await postReceipts(batch).expect(200);
    expect(ok.body.results).toEqual(['parked', 'parked']);
    const bad = JSON.stringify({
      receipts: [{ providerMessageId: 'x', status: 'delivered', at: '2026-11-23T07:00:00Z' }, { providerMessageId: 'y' }],
    });
    const r = await postReceipts(bad).expect(400);
    expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(['/receipts/1/status', '/receipts/1/at']);
  });
});

describe('no 500 on malformed input anywhere', () => {
  it('every API route answers problem+json 4xx', async () => {
    const routes: Array<[string, string]> = [
      ['post', '/api/v1/messages'],
      ['post', '/api/v1/events'],
      ['post', '/api/v1/contacts'],
      ['post', '/api/v1/contacts/import'],
      ['post', `/api/v1/contacts/${contactId}/consent`],
      ['post', '/api/v1/decisions/preview'],
    ];
    for (const [method, path] of routes) {
      for (const raw of [
        '{',
        '[]',
        '{"contact":{"identities":[{"kind":"phone","value":"12"}]},"message":{"type":"otp"}}',
        '{"a":1}',
        'null',
      ]) {
        const res = await request(h.url)
          [method as 'post'](path)
          .set('authorization', 'Bearer admin-key-0123456789abcdefghij')
          .set('content-type', 'application/json')
          .send(raw);
        expect(res.status, `${path} ${raw}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${path} ${raw}`).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
    }
  });
  it('describes itself, is ready and exposes metrics', async () => {
    const doc = (await request(h.url).get('/openapi.json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/messages', '/api/v1/events', '/api/v1/reports/inventory', '/hooks/providers/{name}/receipts']),
    );
    // each answer in its own media type: a refusal as problem+json, metrics as text; a key's route can be 429
    const metricsOp = doc.paths['/metrics'].get;
    expect(Object.keys(metricsOp.responses['200'].content)).toEqual(['text/plain; version=0.0.4']);
    expect(metricsOp['x-roles']).toEqual(['admin', 'metrics']);
    const events = doc.paths['/api/v1/events'].post.responses;
    expect(Object.keys(events['404'].content)).toEqual(['application/problem+json']);
    expect(events['429'].description).toMatch(/^AUTH_RATE_LIMITED/);
    expect(doc.paths['/healthz'].get.responses['429']).toBeUndefined();
    expect((await request(h.url).get('/readyz').expect(200)).body).toEqual({
      status: 'ready',
      store: 'sqlite',
      instance: expect.any(String),
    });
    // metrics are read with an admin key or a key of their own (the only thing a metrics key can do)
    expect((await h.api('metrics').get('/metrics').expect(200)).text).toContain('signalbox_http_requests_total');
    expect((await h.api('admin').get('/metrics').expect(200)).text).toContain('signalbox_http_requests_total');
    expect((await request(h.url).get('/metrics').expect(401)).body.code).toBe('AUTH_REQUIRED');
    expect((await h.api('agent').get('/metrics').expect(403)).body.code).toBe('ROLE_FORBIDDEN');
    expect((await h.api('metrics').get('/api/v1/contacts').expect(403)).body.code).toBe('ROLE_FORBIDDEN');
    expect(
      (await h.api('metrics').post('/api/v1/events').send({ id: 'm-1', type: 'x', occurredAt: '2026-01-01T00:00:00Z' }).expect(403)).body
        .code,
    ).toBe('ROLE_FORBIDDEN');
  });
});
