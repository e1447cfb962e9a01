import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { openSqlite } from '../db/sqlite.js';
import { createLogger } from '../logger.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { Store } from '../store/store.js';
import { createSystem } from '../system.js';

const KEYS = {
  admin: 'admin-secret-0123456789abcdef',
  agent: 'agent-secret-0123456789abcdef',
};
const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});
const rs = loadRuleset(DEFAULT_RULESET);
const clock = new TestClock(new Date('2026-11-23T07:00:00Z'));
const system = createSystem({
  store: new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-app-')), 'signalbox.db'))),
  rules: new RulesHolder(rs),
  clock,
  apiKeys: [
    { name: 'ops', role: 'admin', secret: KEYS.admin },
    { name: 'desk', role: 'agent', secret: KEYS.agent },
  ],
  log: createLogger('info', sink),
  sandboxSecret: 'sandbox-secret-0123456789abcdef',
  bodyLimit: '16kb',
});
const app = system.app;
afterAll(() => system.close());
const contact = { id: 'c-9', market: 'KE', timezone: 'Africa/Nairobi', identities: [{ kind: 'phone', value: '+254700000009' }] };
const auth = { authorization: `Bearer ${KEYS.agent}` };

describe('GET /healthz', () => {
  it('answers without a key', async () => {
    const res = await request(app).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok', ruleset: 'default-2026.12', instance: expect.stringMatching(/^instance-/) });
  });
});

describe('POST /api/v1/decisions/preview', () => {
  it('decides with the default ruleset and explains why', async () => {
    const res = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .send({ message: { type: 'otp' }, contact })
      .expect(200);
    expect(res.body.decision.outcome).toBe('send');
    expect(res.body.decision.plan.map((s: { channel: string }) => s.channel)).toEqual(['sms', 'voice']);
    expect(res.body.decision.decidedAt).toBe('2026-11-23T07:00:00.000Z');
    expect(res.body.decision.reasons.some((r: { rule?: string }) => r.rule === 'otp-transactional-sms-voice')).toBe(true);
  });

  it('takes `at` to decide for another moment, and the context parts', async () => {
    const res = await request(app)
      .post('/api/v1/decisions/preview')
      .set('x-api-key', KEYS.admin)
      .send({
        message: { type: 'promotional' },
        contact,
        consent: [{ channel: 'sms', purpose: 'marketing', status: 'granted', source: 'api', at: '2026-01-01T00:00:00Z' }],
        at: '2026-11-23T19:30:00Z',
      })
      .expect(200);
    expect(res.body.decision.outcome).toBe('suppress');
    expect(res.body.decision.reasons.find((r: { channel?: string }) => r.channel === 'email').code).toBe('no_consent');
  });

  it('rejects bad input with problem+json naming the exact path', async () => {
    const res = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .send({
        message: { type: 'otp' },
        contact: {
          ...contact,
          identities: [
            { kind: 'phone', value: '+1' },
            { kind: 'fax', value: 'x' },
          ],
        },
      })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'INPUT_INVALID', title: 'Bad request' });
    expect(res.body.errors[0].path).toBe('/contact/identities/1/kind');

    const msg = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .send({ message: { type: 'otp', priority: 'urgent!' }, contact })
      .expect(400);
    expect(msg.body.errors[0].path).toBe('/message/priority');

    const at = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .send({ message: { type: 'otp' }, contact, at: 'soon' })
      .expect(400);
    expect(at.body.errors[0].path).toBe('/at');

    const missing = await request(app).post('/api/v1/decisions/preview').set(auth).send({ contact }).expect(400);
    expect(missing.body.errors).toEqual([{ path: '/message', message: 'required' }]);
  });

  it('never answers 500 to malformed bodies', async () => {
    const broken = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json')
      .send('{"message": ')
      .expect(400);
    expect(broken.body.code).toBe('BODY_NOT_JSON');
    expect(broken.body.detail).toBe('the body is not valid JSON');
    // JSON, just not a body: said so, not called invalid
    for (const body of ['null', '42', '"x"']) {
      const res = await request(app)
        .post('/api/v1/decisions/preview')
        .set(auth)
        .set('content-type', 'application/json')
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body must be a JSON object or array' });
      const fast = await request(app)
        .post('/api/v1/events')
        .set({ authorization: `Bearer ${KEYS.admin}` })
        .set('content-type', 'application/json')
        .send(body)
        .expect(400);
      expect(fast.body).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body must be a JSON object or array' });
    }
    for (const body of ['[]', '"x"', 'null', '42', '{"message":null,"contact":null}', '{"message":[],"contact":{}}']) {
      const res = await request(app).post('/api/v1/decisions/preview').set(auth).set('content-type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    const huge = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .send({ message: { type: 'otp' }, contact: { ...contact, attributes: { blob: 'x'.repeat(20_000) } } })
      .expect(413);
    expect(huge.body.code).toBe('BODY_TOO_LARGE');
  });

  it('requires a valid API key, and does not log it', async () => {
    const none = await request(app)
      .post('/api/v1/decisions/preview')
      .send({ message: { type: 'otp' }, contact })
      .expect(401);
    expect(none.body.code).toBe('AUTH_REQUIRED');
    const wrong = await request(app)
      .post('/api/v1/decisions/preview')
      .set('authorization', 'Bearer nope')
      .send({ message: { type: 'otp' }, contact })
      .expect(401);
    expect(wrong.body.code).toBe('AUTH_INVALID');
    // the scheme's name in any case, with any blank after it
    for (const scheme of ['bearer', 'BEARER', 'Bearer\t', 'bEaReR  '])
      await request(app)
        .post('/api/v1/decisions/preview')
        .set('authorization', `${scheme} ${KEYS.agent}`)
        .send({ message: { type: 'otp' }, contact })
        .expect(200);
    expect(logLines.join('')).not.toContain(KEYS.agent);
  });

  it('unknown routes are problem+json 404s', async () => {
    const res = await request(app).get('/api/v1/nothing-here').set(auth).expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('a JSON body that is not UTF-8 is refused, never read as U+FFFD; another charset is 415', async () => {
    for (const path of ['/api/v1/decisions/preview', '/api/v1/events']) {
      const bad = await request(app)
        .post(path)
        .set('x-api-key', KEYS.admin)
        .set('content-type', 'application/json')
        // the bytes as they are (superagent would serialise a Buffer as JSON)
        .serialize((x: unknown) => x as string)
        .send(Buffer.concat([Buffer.from('{"message":{"type":"otp"},"id":"ev-'), Buffer.from([0xff]), Buffer.from('"}')]))
        .expect(400);
      expect(bad.body).toMatchObject({ code: 'BODY_NOT_UTF8', errors: [{ path: '' }] });
    }
    const latin1 = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json; charset=iso-8859-1')
      .send('{}')
      .expect(415);
    expect(latin1.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', errors: [{ path: '/headers/content-type' }] });
    await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json; charset="UTF-8"')
      .send({ message: { type: 'otp' }, contact: { identities: [{ kind: 'phone', value: '+254700000001' }] } })
      .expect(200);
  });

  it("a body its Content-Encoding cannot decode, or an encoding not taken: a stable code, not the decoder's words", async () => {
    const bad = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send('{"this is":"not gzip"}')
      .expect(400);
    expect(bad.body).toMatchObject({ code: 'BODY_NOT_DECODABLE' });
    expect(bad.body.detail).not.toMatch(/header check/);
    // brotli's decoder says it its own way: the same code
    const br = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json')
      .set('content-encoding', 'br')
      .send('{"this is":"not brotli"}')
      .expect(400);
    expect(br.body).toMatchObject({ code: 'BODY_NOT_DECODABLE' });
    const unsupported = await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json')
      .set('content-encoding', 'compress')
      .send('{}')
      .expect(415);
    expect(unsupported.body.code).toBe('ENCODING_UNSUPPORTED');
    const gz = gzipSync(JSON.stringify({ message: { type: 'otp' }, contact }));
    await request(app)
      .post('/api/v1/decisions/preview')
      .set(auth)
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize((b: unknown) => b as string) // the bytes as they are (superagent would write a Buffer as JSON)
      .send(gz)
      .expect(200);
  });

  it('a path served with another method: 405 with Allow (problem+json); OPTIONS answers what it takes', async () => {
    for (const method of ['put', 'delete', 'patch'] as const) {
      const res = await request(app)[method]('/api/v1/decisions/preview').set(auth).expect(405);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe('POST, OPTIONS');
    }
    // parameters are one segment; a trailing slash and case do not matter, as Express matches
    expect((await request(app).put('/api/v1/messages/some-id/').set(auth).expect(405)).headers.allow).toBe('GET, HEAD, OPTIONS');
    const options = await request(app).options('/api/v1/decisions/preview').expect(204);
    expect(options.headers.allow).toBe('POST, OPTIONS');
    expect((await request(app).put('/api/v1/decisions/preview/extra').set(auth).expect(404)).body.code).toBe('NOT_FOUND');
  });
});

describe('what anyone can make us log', () => {
  it('a flood of unsigned provider hooks is answered 401 each time and written to the log once, with how many were left out after', async () => {
    const refused = () => logLines.filter((l) => l.includes('provider hook refused')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(refused()).toEqual([]);
    for (let i = 0; i < 50; i++)
      expect(
        (
          await request(app)
            .post(`/hooks/providers/sandbox/receipts?n=${i}`)
            .set('content-type', 'application/json')
            .send({ providerMessageId: `m-${i}`, status: 'delivered' })
            .expect(401)
        ).body.code,
      ).toBe('SIGNATURE_INVALID');
    expect(refused()).toEqual([expect.objectContaining({ level: 40, provider: 'sandbox', reason: 'missing', path: expect.any(String) })]);
  });
});
