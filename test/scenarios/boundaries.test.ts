/**
 * What the API does with input at its edges (defects found by black-box testing): nesting deep
 * enough to overflow a parser, time zones no database knows, bodies not sent as JSON, errors that
 * must name the deepest path, replayed provider hooks, the API description and the metrics.
 */
import { sign } from '@signalbox/app';
import { DEFAULT_RULESET } from '@signalbox/engine';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, KEYS, SANDBOX_SECRET, startHarness } from '../support/harness.js';

const MORNING = '2026-11-23T07:00:00Z';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ at: MORNING });
});
afterAll(async () => h.close());

/** `{"a":{"a":…{"a":1}…}}` nested `n` deep, built as text (JSON.stringify would overflow first). */
const nested = (n: number, key = 'a') => `${`{"${key}":`.repeat(n)}1${'}'.repeat(n)}`;

describe('JSON nested too deep', () => {
  it('an event whose data nests 3,000 levels is refused at the boundary with the path, never a 500', async () => {
    const body = `{"id":"deep-1","type":"ticket.opened","occurredAt":"${MORNING}","contact":{"identities":[{"kind":"phone","value":"+254700000101"}]},"data":${nested(3000)}}`;
    for (const path of ['/api/v1/events', '/api/v1/events?via=express']) {
      const res = await request(h.url)
        .post(path)
        .set('authorization', `Bearer ${KEYS.integration}`)
        .set('content-type', 'application/json')
        .send(body);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.code).toBe('JSON_TOO_DEEP');
      // the first value past 64 levels: the event is one, data two, and so on
      expect(res.body.errors[0].path).toBe(`/data${'/a'.repeat(63)}`);
    }
    // nothing reached the inbox, and the worker has nothing to choke on
    expect(await h.store.inbox.backlog()).toBe(0);
  });

  it('a ruleset whose conditions nest 10,000 levels is refused by publish and by validate', async () => {
    const doc = JSON.stringify({ ...(DEFAULT_RULESET as Record<string, unknown>), version: 'deep' });
    const deep = doc.replace(
      '"rules":[',
      `"rules":[{"name":"deep","stage":"guards","event":{"type":"suppress"},"conditions":${nested(10_000, 'all')}},`,
    );
    for (const [method, path] of [
      ['put', '/api/v1/rules'],
      ['post', '/api/v1/rules/validate'],
    ] as const) {
      const res = await request(h.url)
        [method](path)
        .set('authorization', `Bearer ${KEYS.admin}`)
        .set('content-type', 'application/json')
        .send(deep);
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('JSON_TOO_DEEP');
      expect(res.body.errors[0].path).toMatch(/^\/rules\/0\/conditions(\/all){61}$/);
    }
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('default-2026.12');
  });

  it('signed hooks are checked too (a provider receipt nested too deep)', async () => {
    const raw = `{"providerMessageId":"x","status":"delivered","at":"${MORNING}","extra":${nested(500)}}`;
    const res = await request(h.url)
      .post('/hooks/providers/sandbox/receipts')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, raw, Date.now()))
      .send(raw)
      .expect(400);
    expect(res.body.code).toBe('JSON_TOO_DEEP');
  });
});

describe('time zones', () => {
  it('a contact in a zone no time zone database knows is refused with the path (decisions would assume UTC)', async () => {
    const res = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254700000102' }], timezone: 'Mars/Olympus' })
      .expect(422);
    expect(res.body).toMatchObject({ code: 'TIMEZONE_UNKNOWN', errors: [{ path: '/timezone' }] });
    expect(await h.store.contacts.findByIdentity('phone', '+254700000102')).toBeNull();
    const imported = await h
      .api('integration')
      .post('/api/v1/contacts/import')
      .send([{ identities: [{ kind: 'phone', value: '+254700000103' }], timezone: 'Europe/Atlantis' }])
      .expect(200);
    expect(imported.body).toMatchObject({ imported: 0, failed: 1, results: [{ index: 0, error: { path: '/0/timezone' } }] });
    expect(await h.store.contacts.findByIdentity('phone', '+254700000103')).toBeNull();
    const preview = await h
      .api('agent')
      .post('/api/v1/decisions/preview')
      .send({ message: { type: 'otp' }, contact: { identities: [{ kind: 'phone', value: '+254700000104' }], timezone: 'Mars/Olympus' } })
      .expect(422);
    expect(preview.body.errors[0].path).toBe('/contact/timezone');
    // an instant outside what a plan can write, or not a string: 400 at /at, never a 500
    for (const at of ['+275760-09-13T00:00:00Z', 8_640_000_000_000_000, 5, '10000-01-01T00:00:00Z']) {
      const res = await h
        .api('agent')
        .post('/api/v1/decisions/preview')
        .send({ message: { type: 'otp' }, contact: { identities: [{ kind: 'phone', value: '+254700000104' }] }, at });
      expect(res.status, String(at)).toBe(400);
      expect(res.body.errors[0].path, String(at)).toBe('/at');
    }
    // a real zone is taken
    await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254700000105' }], timezone: 'America/Argentina/Buenos_Aires' })
      .expect(201);
  });
});

describe('errors that help', () => {
  it('name the deepest path of each problem', async () => {
    const msg = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({
        contact: {
          identities: [
            { kind: 'phone', value: '+254700000106' },
            { kind: 'fax', value: '1' },
          ],
        },
        message: { type: 'otp' },
      })
      .expect(400);
    expect(msg.body.errors.map((e: { path: string }) => e.path)).toEqual(['/contact/identities/1/kind']);
    const ev = await h
      .api('integration')
      .post('/api/v1/events')
      .send({ id: 'no-time', type: 'ticket.opened', contact: { identities: [{ kind: 'phone', value: '+254700000107' }] } })
      .expect(400);
    expect(ev.body.errors.map((e: { path: string }) => e.path)).toEqual(['/occurredAt']);
    const batch = await h
      .api('integration')
      .post('/api/v1/events')
      .send([
        { id: 'ok', type: 'ticket.opened', occurredAt: MORNING, contact: { id: 'c' } },
        { id: 'bad', type: 'ticket.opened', contact: { id: 'c' } },
      ])
      .expect(400);
    expect(batch.body.errors.map((e: { path: string }) => e.path)).toEqual(['/1/occurredAt']);
  });

  it('say so when the body is not sent as JSON', async () => {
    for (const path of ['/api/v1/messages', '/api/v1/events', '/api/v1/contacts', '/api/v1/decisions/preview']) {
      const res = await request(h.url)
        .post(path)
        .set('authorization', `Bearer ${KEYS.admin}`)
        .set('content-type', 'text/plain')
        .send('{"contact":{"id":"x"},"message":{"type":"otp"}}');
      expect(res.status, path).toBe(415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(res.body.detail).toMatch(/application\/json/);
    }
  });

  it('one contact shape for the preview and for messages: a contact without an id works in both', async () => {
    const contact = { identities: [{ kind: 'phone', value: '+254700000108' }], market: 'KE' };
    const preview = await h
      .api('integration')
      .post('/api/v1/decisions/preview')
      .send({ contact, message: { type: 'otp' } })
      .expect(200);
    const sent = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact, message: { type: 'otp' } })
      .expect(202);
    expect(preview.body.decision.plan).toEqual(sent.body.decision.plan);
    // and both refuse what is not an identity the same way
    const bad = { identities: [{ kind: 'phone', value: '12' }] };
    for (const path of ['/api/v1/decisions/preview', '/api/v1/messages']) {
      const res = await h
        .api('integration')
        .post(path)
        .send({ contact: bad, message: { type: 'otp' } })
        .expect(400);
      expect(res.body.errors[0].path, path).toBe('/contact/identities/0/value');
    }
  });

  it('an event whose contact has an identity no contact could have is refused at the door (400 at its path), not retried later', async () => {
    const event = (id: string, value: string) => ({
      id,
      type: 'ticket.opened',
      occurredAt: MORNING,
      contact: {
        identities: [
          { kind: 'phone', value: '+254700000109' },
          { kind: 'email', value },
        ],
      },
    });
    const one = await h.api('integration').post('/api/v1/events').send(event('bad-id-1', 'not an address')).expect(400);
    expect(one.body.errors.map((e: { path: string }) => e.path)).toEqual(['/contact/identities/1/value']);
    const batch = await h
      .api('integration')
      .post('/api/v1/events')
      .send([event('bad-id-2', 'ok@example.com'), event('bad-id-3', 'a@b.c\u0000')])
      .expect(400);
    expect(batch.body.errors.map((e: { path: string }) => e.path)).toEqual(['/1/contact/identities/1/value']);
    // nothing of a refused batch was kept
    expect(await h.db.selectFrom('inbox').select('id').where('event_id', 'in', ['bad-id-1', 'bad-id-2', 'bad-id-3']).execute()).toEqual([]);
    const stored = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'email', value: 'a@b.c\u0000' }] });
    expect(stored.status).toBe(400);
  });
});

describe('text that cannot be stored as sent', () => {
  it('a NUL or a lone surrogate in any string of a body, a __proto__ key, or a NUL in the URL, is refused with its path (PostgreSQL answered 500)', async () => {
    const phone = (n: number) => ({ identities: [{ kind: 'phone', value: `+2547000001${n}` }] });
    const bodies: Array<[string, string, string, string]> = [
      [
        '/api/v1/events',
        'integration',
        `{"id":"bad\\u0000-1","type":"ticket.opened","occurredAt":"${MORNING}","contact":${JSON.stringify(phone(30))}}`,
        '/id',
      ],
      [
        '/api/v1/events',
        'integration',
        `[{"id":"fine-1","type":"ticket.opened","occurredAt":"${MORNING}","contact":${JSON.stringify(phone(31))},"data":{"n\\u0000ote":1}}]`,
        '/0/data/n\u0000ote',
      ],
      ['/api/v1/contacts', 'admin', '{"identities":[{"kind":"email","value":"\\ud800@example.com"}]}', '/identities/0/value'],
      // a __proto__ key, spelt out or in escapes: a name → value field would drop it unseen
      [
        '/api/v1/contacts',
        'admin',
        '{"identities":[{"kind":"phone","value":"+254700000134"}],"attributes":{"__proto__":{"vip":"yes"}}}',
        '/attributes/__proto__',
      ],
      ['/api/v1/rules/validate', 'admin', '{"version":"x","channels":{"\\u005f_proto__":{"kind":"sms"}}}', '/channels/__proto__'],
      [
        '/api/v1/messages',
        'integration',
        `{"contact":${JSON.stringify(phone(32))},"message":{"type":"otp","template":"otp_code","variables":{"code":"1"},"team":"T\\udfff"}}`,
        '/message/team',
      ],
    ];
    for (const [path, role, body, at] of bodies) {
      const res = await h
        .api(role as 'admin')
        .post(path)
        .set('content-type', 'application/json')
        .send(body);
      expect(res.status, body).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body, body).toMatchObject({ code: 'INPUT_INVALID', errors: [{ path: at }] });
    }
    // a valid pair (an emoji written as escapes) is text like any other
    const emoji = await h
      .api('admin')
      .post('/api/v1/contacts')
      .set('content-type', 'application/json')
      .send('{"identities":[{"kind":"phone","value":"+254700000133"}],"attributes":{"mood":"\\ud83d\\ude00"}}');
    expect(emoji.status).toBe(201);
    expect(emoji.body.contact.attributes.mood).toBe('\u{1F600}');
    const urls: Array<[string, string]> = [
      ['/api/v1/contacts/x%00', '/path'],
      ['/api/v1/messages?contact=x%00', '/query/contact'],
      ['/api/v1/inbox/events?type=a%00', '/query/type'],
    ];
    for (const [url, at] of urls) {
      const res = await h.api('admin').get(url);
      expect(res.status, url).toBe(400);
      expect(res.body, url).toMatchObject({ code: 'INPUT_INVALID', errors: [{ path: at }] });
    }
    expect(await h.store.inbox.backlog()).toBe(0);
  });
});

describe('a contact named neither way', () => {
  it('is refused at /contact/id, saying that identities are the other way to name it', async () => {
    const res = await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact: {}, message: { type: 'otp', template: 'otp_code', variables: { code: '1234' } } })
      .expect(400);
    expect(res.body.errors).toEqual([{ path: '/contact/id', message: expect.stringMatching(/`identities` instead of `id`/) }]);
  });
});

describe('numbers too large to store', () => {
  /** An event as its JSON text, with `data` as given (numbers as they are written). */
  const event = (id: string, data: string, phone = '+254700000170') =>
    `{"id":"${id}","type":"ticket.opened","occurredAt":"${MORNING}","contact":{"identities":[{"kind":"phone","value":"${phone}"}]},"data":${data}}`;
  /** The same text through both ingest paths (the fast one and Express). */
  const ingestBoth = (text: string) =>
    Promise.all(
      ['/api/v1/events', '/api/v1/events?via=express'].map(async (path) => ({
        path,
        res: await h.api('integration').post(path).set('content-type', 'application/json').send(text),
      })),
    );

  it('an event or a contact with a number past ±1.8e308 in it is refused with the path (it was stored as null), on both ingest paths', async () => {
    for (const { path, res } of await ingestBoth(
      event('huge-1', `{"amount":1e999,"list":[1, -2E+400],"fine":1.7e308,"digits":${'9'.repeat(300)},"a/b~c":${'9'.repeat(250)}e60}`),
    )) {
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body, path).toMatchObject({
        code: 'NUMBER_OUT_OF_RANGE',
        errors: [{ path: '/data/amount' }, { path: '/data/list/1' }, { path: '/data/a~1b~0c' }],
      });
      expect(res.body.errors).toHaveLength(3);
    }
    const contact = await h
      .api('admin')
      .post('/api/v1/contacts')
      .set('content-type', 'application/json')
      .send(`{"identities":[{"kind":"phone","value":"+254700000171"}],"attributes":{"score":${'9'.repeat(309)}}}`);
    expect(contact.status).toBe(400);
    expect(contact.body).toMatchObject({ code: 'NUMBER_OUT_OF_RANGE', errors: [{ path: '/attributes/score' }] });
    expect(await h.store.inbox.backlog()).toBe(0);
    // the largest doubles, and the same text inside a string, are values like any other
    const fine = await h
      .api('integration')
      .post('/api/v1/events')
      .set('content-type', 'application/json')
      .send(event('huge-2', `{"amount":1.7976931348623157e308,"note":"1e999","id":"123e4567-e89b","big":1${'0'.repeat(308)}.0}`));
    expect(fine.status).toBe(202);
    const stored = await h.api('admin').get('/api/v1/inbox/events?type=ticket.opened').expect(200);
    const kept = stored.body.items.find((e: { eventId: string }) => e.eventId === 'huge-2');
    expect(kept.payload.data).toEqual({ amount: 1.7976931348623157e308, note: '1e999', id: '123e4567-e89b', big: 1e308 });
  });

  it('an integer a double cannot hold exactly is refused with its path, never stored as another number; as a string it is kept', async () => {
    // the OTP the caller asked for is not the one that would have gone
    const otp = await h
      .api('integration')
      .post('/api/v1/messages')
      .set('content-type', 'application/json')
      .send(
        '{"contact":{"identities":[{"kind":"phone","value":"+254700000172"}]},"message":{"type":"otp","template":"otp_code","variables":{"code":9007199254740993}}}',
      );
    expect(otp.status).toBe(400);
    expect(otp.body).toMatchObject({ code: 'NUMBER_NOT_EXACT', errors: [{ path: '/message/variables/code' }] });
    for (const { path, res } of await ingestBoth(
      event('exact-1', '{"ok":9007199254740991,"list":[1,-18446744073709551615],"note":"x:12345678901234567"}', '+254700000173'),
    )) {
      expect(res.status, path).toBe(400);
      expect(res.body, path).toMatchObject({ code: 'NUMBER_NOT_EXACT', errors: [{ path: '/data/list/1' }] });
      expect(res.body.errors, path).toHaveLength(1);
    }
    expect(await h.store.contacts.findByIdentity('phone', '+254700000172')).toBeNull();
    // the largest safe integer, exact larger ones (2^60, 10^20), a float and the same digits in a string are kept as sent
    const fine = await h
      .api('integration')
      .post('/api/v1/events')
      .set('content-type', 'application/json')
      .send(
        `{"id":"exact-2","type":"ticket.opened","occurredAt":"${MORNING}","contact":{"identities":[{"kind":"phone","value":"+254700000174"}]},"data":{"safe":-9007199254740991,"pow":1152921504606846976,"ten":100000000000000000000,"float":12345678901234567.5,"code":"9007199254740993"}}`,
      );
    expect(fine.status).toBe(202);
    const stored = await h.api('admin').get('/api/v1/inbox/events?type=ticket.opened').expect(200);
    const kept = stored.body.items.find((e: { eventId: string }) => e.eventId === 'exact-2');
    expect(kept.payload.data).toEqual({
      safe: -9007199254740991,
      pow: 2 ** 60,
      ten: 1e20,
      float: 12345678901234568,
      code: '9007199254740993',
    });
  });
});

describe('queries and requests at their edges', () => {
  it('a page size is digits from 1 to 500, given once; a range has `to` after `from`; a date alone is midnight UTC', async () => {
    for (const limit of ['0x10', '%205', '5%20', '1e2', '0', '501']) {
      const res = await h.api('admin').get(`/api/v1/messages?limit=${limit}`);
      expect(res.status, limit).toBe(400);
      expect(res.body.errors[0].path, limit).toBe('/query/limit');
    }
    const twice = await h.api('admin').get('/api/v1/audit?limit=1&limit=2').expect(400);
    expect(twice.body.errors[0]).toEqual({ path: '/query/limit', message: 'give limit once' });
    await h.api('admin').get('/api/v1/messages?limit=5').expect(200);
    for (const url of [
      '/api/v1/messages?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z',
      '/api/v1/audit?from=2026-12-01&to=2026-11-01',
      '/api/v1/audit?from=2026-11-01&to=2026-11-01',
    ]) {
      const res = await h.api('admin').get(url);
      expect(res.status, url).toBe(400);
      expect(res.body.errors[0], url).toEqual({ path: '/query/to', message: 'must be after from' });
    }
    await h.api('admin').get('/api/v1/messages?from=2026-11-01&to=2026-12-01').expect(200);
    const draft = await h.api('admin').get('/api/v1/rules/drafts/00000000-0000-4000-8000-000000000000').expect(404);
    expect(draft.body.errors[0].path).toBe('/path/id');
  });

  it('headers too large for the server are refused as problem+json too (Node answers with no body)', async () => {
    const { request: raw } = await import('node:http');
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = raw(`${h.url}/healthz`, { headers: { 'x-padding': 'x'.repeat(20_000) } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    await request(h.url).get('/healthz').expect(200);
  });
});

describe("a contact's maps", () => {
  it('are bounded in keys, values and size; a time zone is kept as the database spells it', async () => {
    const phone = { kind: 'phone', value: '+254700000140' };
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, i]));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ attributes: many }, '/attributes'],
      [{ attributes: { note: 'x'.repeat(2001) } }, '/attributes/note'],
      [{ preferences: { promotional: { channel: 'x'.repeat(41) } } }, '/preferences/promotional/channel'],
      [{ capabilities: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, true])) }, '/capabilities'],
    ];
    for (const [fields, path] of cases) {
      const res = await h
        .api('admin')
        .post('/api/v1/contacts')
        .send({ identities: [phone], ...fields });
      expect(res.status, path).toBe(400);
      expect(
        res.body.errors.map((e: { path: string }) => e.path),
        path,
      ).toContain(path);
    }
    const made = await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({ identities: [phone], timezone: 'africa/nairobi' })
      .expect(201);
    expect(made.body.contact.timezone).toBe('Africa/Nairobi');
    const alias = await h
      .api('admin')
      .post('/api/v1/contacts')
      .send({ identities: [phone], timezone: 'Asia/Kolkata' })
      .expect(200);
    expect(alias.body.contact.timezone).toBe('Asia/Kolkata');
  });
});

describe('the decision preview', () => {
  it("refuses what /messages refuses (an unknown template, a type that is not the template's) and an `at` that is not an ISO instant", async () => {
    const contact = { identities: [{ kind: 'phone', value: '+254700000120' }], market: 'KE' };
    const otp = { type: 'otp', template: 'otp_code', variables: { code: '123456' } };
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ contact, message: { type: 'otp', template: 'nope' } }, 422, 'TEMPLATE_UNKNOWN', '/message/template'],
      [{ contact, message: { ...otp, type: 'promotional' } }, 422, 'TEMPLATE_TYPE_MISMATCH', '/message/type'],
      [{ contact, message: otp, at: '1' }, 400, 'INPUT_INVALID', '/at'],
      [{ contact, message: otp, at: '2026-02-30T00:00:00Z' }, 400, 'INPUT_INVALID', '/at'],
      [{ contact, message: otp, at: 'March 7 2026' }, 400, 'INPUT_INVALID', '/at'],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await h.api('agent').post('/api/v1/decisions/preview').send(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body, JSON.stringify(body)).toMatchObject({ code, errors: [{ path }] });
      // and /messages answers the same for the same message
      if (status === 422) {
        const sent = await h.api('integration').post('/api/v1/messages').send({ contact, message: body.message });
        expect(sent.status).toBe(422);
        expect(sent.body).toMatchObject({ code, errors: [{ path }] });
      }
    }
    const ok = await h.api('agent').post('/api/v1/decisions/preview').send({ contact, message: otp, at: '2026-11-23T10:00:00+03:00' });
    expect(ok.status).toBe(200);
    expect(ok.body.decision.decidedAt).toBe('2026-11-23T07:00:00.000Z');
  });
});

describe('names every object inherits', () => {
  it('are no template and no channel: the preview answers 404 with the path', async () => {
    for (const template of ['__proto__', 'constructor', 'toString']) {
      const res = await h
        .api('agent')
        .post('/api/v1/templates/preview')
        .send({ template, contact: { market: 'KE' } });
      expect(res.status, template).toBe(404);
      expect(res.body).toMatchObject({ code: 'TEMPLATE_NOT_FOUND', errors: [{ path: '/template' }] });
    }
    const template = Object.keys((DEFAULT_RULESET as { templates: Record<string, unknown> }).templates)[0] as string;
    const res = await h
      .api('agent')
      .post('/api/v1/templates/preview')
      .send({ template, channels: ['sms', 'toString'] });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'CHANNEL_NOT_FOUND', errors: [{ path: '/channels/1' }] });
  });
});

describe("a message's own idempotencyKey", () => {
  it("is the caller's: the same caller and key make one message, another caller's or Signalbox's own key never names it", async () => {
    const send = (role: 'integration' | 'admin', phone: string, idempotencyKey: string) =>
      h
        .api(role)
        .post('/api/v1/messages')
        .send({ contact: { identities: [{ kind: 'phone', value: phone }] }, message: { type: 'otp', idempotencyKey } })
        .expect(202);
    const first = (await send('integration', '+254700000141', 'order-77')).body;
    const again = (await send('integration', '+254700000141', 'order-77')).body;
    expect(again.messageId).toBe(first.messageId);
    const other = (await send('admin', '+254700000142', 'order-77')).body;
    expect(other.messageId).not.toBe(first.messageId);
    expect(other.decision.contactId).toBe(other.contactId);
    // a key shaped like the ones Signalbox gives its own messages (keyword replies, CRM actions, the header's)
    for (const key of ['keyword-reply:sms:SM1', 'hubspot-action:cb-1', `api:messages:integration:order-77`]) {
      const r = (await send('admin', '+254700000143', key)).body;
      expect(r.messageId, key).not.toBe(first.messageId);
      expect(r.decision.contactId).toBe(r.contactId);
    }
  });
});

describe('a path that does not decode', () => {
  it('is 400 PATH_NOT_DECODABLE at the parameter it stands for, naming the segment, on every route with a parameter', async () => {
    for (const [role, url] of [
      ['agent', '/api/v1/contacts/%ff'],
      ['agent', '/api/v1/messages/%E0%A4%A'],
      ['admin', '/api/v1/rules/drafts/abc%'],
    ] as const) {
      const res = await h.api(role).get(url).expect(400);
      expect(res.headers['content-type'], url).toMatch(/application\/problem\+json/);
      expect(res.body, url).toMatchObject({ code: 'PATH_NOT_DECODABLE', errors: [{ path: '/path/id' }] });
    }
    const res = await h.api('agent').get('/api/v1/contacts/%ff').expect(400);
    expect(res.body.errors[0].message).toBe('"%ff" cannot be decoded');
  });
});

describe("a message's template variables", () => {
  it('are bounded as a message can show them: a 200,000-character variable, a long name or 101 variables are 400 at their path', async () => {
    const post = (variables: Record<string, unknown>) =>
      h
        .api('integration')
        .post('/api/v1/messages')
        .send({
          contact: { identities: [{ kind: 'phone', value: '+254700000161' }] },
          message: { type: 'otp', template: 'otp_code', variables },
        });
    const huge = await post({ code: '7'.repeat(200_000) }).expect(400);
    expect(huge.body.errors).toEqual([expect.objectContaining({ path: '/message/variables/code' })]);
    const name = await post({ ['n'.repeat(61)]: 'x', code: '1' }).expect(400);
    expect(name.body.errors[0].path).toMatch(/^\/message\/variables/);
    const many = await post(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`v${i}`, i]))).expect(400);
    expect(many.body.errors).toEqual([
      expect.objectContaining({ path: '/message/variables', message: expect.stringContaining('at most 100') }),
    ]);
    expect(await h.store.contacts.findByIdentity('phone', '+254700000161')).toBeNull();
    await post({ code: '7'.repeat(2000) }).expect(202);
  });
});

describe('an idempotency key used again', () => {
  it('with another request is refused (409 at the key, nothing made, no contact created), in the body as with the header', async () => {
    const post = (phone: string, message: Record<string, unknown>, header?: string) => {
      const r = h.api('integration').post('/api/v1/messages');
      if (header !== undefined) r.set('idempotency-key', header);
      return r.send({ contact: { identities: [{ kind: 'phone', value: phone }] }, message });
    };
    const first = await post('+254700000151', {
      type: 'otp',
      template: 'otp_code',
      variables: { code: '111111' },
      idempotencyKey: 'k-151',
    }).expect(202);
    const retry = await post('+254700000151', {
      type: 'otp',
      template: 'otp_code',
      variables: { code: '111111' },
      idempotencyKey: 'k-151',
    }).expect(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const other = await post('+254700000152', { type: 'service', template: 'renewal_notice', idempotencyKey: 'k-151' }).expect(409);
    expect(other.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ path: '/message/idempotencyKey' }] });
    expect(await h.store.contacts.findByIdentity('phone', '+254700000152')).toBeNull();
    // a key whose message was made before answers were kept for body keys (no answer stored):
    // the message itself says whether it is the same request
    await h.db.deleteFrom('idempotency').where('key', '=', 'k-151').execute();
    const legacyOther = await post('+254700000152', { type: 'service', template: 'renewal_notice', idempotencyKey: 'k-151' }).expect(409);
    expect(legacyOther.body.errors).toEqual([expect.objectContaining({ path: '/message/idempotencyKey' })]);
    expect(await h.store.contacts.findByIdentity('phone', '+254700000152')).toBeNull();
    const legacySame = await post('+254700000151', {
      type: 'otp',
      template: 'otp_code',
      variables: { code: '111111' },
      idempotencyKey: 'k-151',
    }).expect(202);
    expect(legacySame.body.messageId).toBe(first.body.messageId);
    expect(legacySame.body.contactId).toBe(first.body.contactId);
    const viaHeader = await post('+254700000153', { type: 'otp' }, 'h-153').expect(202);
    const otherViaHeader = await post('+254700000153', { type: 'service' }, 'h-153').expect(409);
    expect(otherViaHeader.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ path: '/headers/idempotency-key' }] });
    expect(viaHeader.body.messageId).toBeTruthy();
  });

  for (const profile of ['sqlite', 'postgres'] as const)
    it(`at the same moment (${profile}): one message; the same request is answered with it, another request refused`, async () => {
      const own = await startHarness({
        at: MORNING,
        ...(profile === 'postgres' ? { postgresSchema: `idem_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}` } : {}),
      });
      try {
        const post = (code: string) =>
          own
            .api('integration')
            .post('/api/v1/messages')
            .send({
              contact: { identities: [{ kind: 'phone', value: '+254700000154' }] },
              message: { type: 'otp', template: 'otp_code', variables: { code }, idempotencyKey: 'k-154' },
            });
        const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i % 2 === 0 ? '222222' : '333333')));
        const ok = answers.filter((a) => a.status === 202);
        expect(answers.filter((a) => a.status === 409)).toHaveLength(6);
        expect(ok).toHaveLength(6);
        expect(new Set(ok.map((a) => a.body.messageId)).size).toBe(1);
        expect(await own.db.selectFrom('messages').select('id').execute()).toHaveLength(1);
      } finally {
        await own.close();
      }
    });
});

describe('provider hooks', () => {
  it("take an inbound message's time no later than ours: a date two days ahead does not hold a WhatsApp window open", async () => {
    const c = await h
      .api('integration')
      .post('/api/v1/contacts')
      .send({ identities: [{ kind: 'phone', value: '+254700000198' }], capabilities: { whatsapp: true } })
      .expect(201);
    const ahead = new Date(h.clock.now().getTime() + 2 * 86_400_000).toISOString();
    const raw = JSON.stringify({ id: 'in-ahead', channel: 'whatsapp', from: '+254700000198', text: 'hi', at: ahead });
    await request(h.url)
      .post('/hooks/providers/sandbox/inbound')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, raw, Date.now()))
      .send(raw)
      .expect(200);
    const view = await h.api('agent').get(`/api/v1/contacts/${c.body.contact.id}`).expect(200);
    expect(Date.parse(view.body.contact.lastInbound.whatsapp)).toBeLessThanOrEqual(h.clock.now().getTime());
  });

  it('refuse a signed request replayed inside its window, also after a restart of the guard', async () => {
    const raw = JSON.stringify({ id: 'in-replay', channel: 'sms', from: '+254700000199', text: 'hello', at: MORNING });
    const signature = sign(SANDBOX_SECRET, raw, Date.now());
    const post = () =>
      request(h.url)
        .post('/hooks/providers/sandbox/inbound')
        .set('content-type', 'application/json')
        .set('signalbox-signature', signature)
        .send(raw);
    await post().expect(200);
    const again = await post().expect(401);
    expect(again.body.code).toBe('SIGNATURE_REPLAYED');
    // what the guard saw is in the store, not in a process's memory
    expect(await h.store.seenSignatures.firstUse(`provider:sandbox:probe`, 0, 1)).toBe(true);
  });

  it('refuse an inbound message on a channel the ruleset does not have, naming /channel', async () => {
    const raw = JSON.stringify({ id: 'in-pigeon', channel: 'pigeon', from: '+254700000197', text: 'hello', at: MORNING });
    const res = await request(h.url)
      .post('/hooks/providers/sandbox/inbound')
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, raw, Date.now()))
      .send(raw)
      .expect(400);
    expect(res.body.errors[0]).toMatchObject({ path: '/channel', message: expect.stringContaining('sms') });
  });

  it('refuse the same signature written another way (spaces, order, extra parts), and a timestamp not in digits', async () => {
    const raw = JSON.stringify({ id: 'in-rewritten', channel: 'sms', from: '+254700000198', text: 'hello', at: MORNING });
    const t = Date.now();
    const [, mac] = /v1=([0-9a-f]{64})/.exec(sign(SANDBOX_SECRET, raw, t)) as RegExpExecArray;
    const post = (signature: string) =>
      request(h.url)
        .post('/hooks/providers/sandbox/inbound')
        .set('content-type', 'application/json')
        .set('signalbox-signature', signature)
        .send(raw);
    await post(`t=${t},v1=${mac}`).expect(200);
    for (const rewritten of [`t=${t}, v1=${mac}`, `v1=${mac},t=${t}`, `t=${t},v1=${mac},x=1`, ` t=${t} ,v1=${mac}`]) {
      const res = await post(rewritten).expect(401);
      expect(res.body.code, rewritten).toBe('SIGNATURE_REPLAYED');
    }
    for (const malformed of [`t=${t}.0,v1=${mac}`, `t=${t},v1=${mac},t=${t}`, `t=${t},v1=${mac},junk`, `t=+${t},v1=${mac}`]) {
      const res = await post(malformed).expect(401);
      expect(res.body, malformed).toMatchObject({ code: 'SIGNATURE_INVALID', detail: 'signature malformed' });
    }
  });

  it("answer 404 for a provider named like an object's own properties (__proto__, constructor), signed or not", async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
      for (const hook of ['receipts', 'inbound']) {
        const res = await request(h.url)
          .post(`/hooks/providers/${name}/${hook}`)
          .set('content-type', 'application/json')
          .set('signalbox-signature', `t=${Date.now()},v1=${'0'.repeat(64)}`)
          .send('{}');
        expect(res.status, `${name}/${hook}`).toBe(404);
        expect(res.body.code).toBe('PROVIDER_UNKNOWN');
      }
  });
});

describe('the API describes every route it serves', () => {
  it('each mounted route is in /openapi.json, with its method, and nothing else is', async () => {
    const doc = (await request(h.url).get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const router = (h.system.app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } })
      .router;
    const mounted = router.stack
      .filter((l) => l.route !== undefined)
      .flatMap((l) =>
        Object.keys(l.route?.methods ?? {}).map((m) => `${m.toUpperCase()} ${(l.route?.path ?? '').replace(/:(\w+)/g, '{$1}')}`),
      );
    expect(mounted.length).toBeGreaterThan(15);
    expect(described.sort()).toEqual([...new Set(mounted)].sort());
    for (const p of ['/api/v1/rules', '/api/v1/rules/validate', '/api/v1/events', '/api/v1/inbox/dead-letters'])
      expect(doc.paths[p], p).toBeDefined();
    expect(Object.keys(doc.paths['/api/v1/rules'] ?? {}).sort()).toEqual(['get', 'put']);
    // request bodies come from the schemas the routes validate with
    const messages = doc.paths['/api/v1/messages']?.post as {
      requestBody: { content: Record<string, { schema: { required: string[] } }> };
    };
    expect(messages.requestBody.content['application/json']?.schema.required).toEqual(['contact', 'message']);
  });
});

describe('metrics', () => {
  it("count Signalbox's own work by full route template, decision outcome, provider call and inbox", async () => {
    const contact = { identities: [{ kind: 'phone', value: '+254700000109' }], market: 'KE' };
    await h
      .api('integration')
      .post('/api/v1/decisions/preview')
      .send({ contact, message: { type: 'otp' } })
      .expect(200);
    await h
      .api('integration')
      .post('/api/v1/messages')
      .send({ contact, message: { type: 'otp' } })
      .expect(202);
    await h.api('integration').get('/api/v1/nowhere').expect(404);
    await h.settle();
    const text = (await h.api('metrics').get('/metrics').expect(200)).text;
    const families = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE signalbox_'))
        .map((l) => l.split(' ')[2]),
    );
    for (const f of [
      'signalbox_http_requests_total',
      'signalbox_http_request_seconds',
      'signalbox_decisions_total',
      'signalbox_provider_calls_total',
      'signalbox_provider_call_seconds',
      'signalbox_inbox_events_total',
      'signalbox_inbox_lag_seconds',
      'signalbox_inbox_backlog',
      'signalbox_timers_due',
      'signalbox_timers_fired_total',
      'signalbox_worker_rounds_total',
      'signalbox_dead_letters',
    ])
      expect(families, f).toContain(f);
    // every series carries the instance's label
    expect(text).toMatch(
      /signalbox_http_requests_total\{route="\/api\/v1\/decisions\/preview",method="POST",status="200",instance="instance-[^"]+"\}/,
    );
    expect(text).toMatch(/signalbox_http_requests_total\{route="\(none\)",method="GET",status="404",instance="instance-[^"]+"\}/);
    expect(text).toMatch(/signalbox_decisions_total\{type="otp",outcome="send",instance="instance-[^"]+"\} [1-9]/);
    expect(text).toMatch(
      /signalbox_provider_calls_total\{provider="sandbox",channel="sms",outcome="accepted",instance="instance-[^"]+"\} [1-9]/,
    );
    // every route label is a full template
    const routes = [...text.matchAll(/signalbox_http_requests_total\{route="([^"]+)"/g)].map((m) => m[1] as string);
    for (const r of routes) expect(r === '(none)' || r.startsWith('/'), r).toBe(true);
    expect(routes.some((r) => r === '/preview')).toBe(false);
  });
});
