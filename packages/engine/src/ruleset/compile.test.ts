import { describe, expect, it } from 'vitest';
import { RulesetInvalidError } from '../errors.js';
import { compileCondition } from '../rules/compile-condition.js';
import { defaultRulesetDocument } from '../testing/default-ruleset.js';
import { loadRuleset, validateRuleset } from './compile.js';

type Doc = Record<string, unknown> & { rules: Array<Record<string, unknown>>; journeys: Array<Record<string, unknown>> };
const base = (): Doc => structuredClone(defaultRulesetDocument) as Doc;

function problems(doc: unknown) {
  const r = validateRuleset(doc);
  if (r.ok) throw new Error('expected the ruleset to be invalid');
  return r.problems;
}
const at = (doc: unknown, path: string) => problems(doc).filter((p) => p.path === path);

describe('ruleset validation', () => {
  it('accepts the default ruleset', () => {
    expect(validateRuleset(defaultRulesetDocument).ok).toBe(true);
  });

  it('looks names up among those declared only: an inherited name (constructor, __proto__, toString) is no channel, template or market', () => {
    const rs = loadRuleset(base());
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(rs.source.channels[name], name).toBeUndefined();
      expect(rs.source.templates[name], name).toBeUndefined();
      expect(rs.source.markets[name], name).toBeUndefined();
      expect(rs.source.prices.default[name], name).toBeUndefined();
      expect(rs.source.suppressions[name], name).toBeUndefined();
    }
    // a fallback naming one is refused as any undeclared channel
    const doc = base() as Doc & { channels: Record<string, Record<string, unknown>> };
    const first = Object.keys(doc.channels)[0] as string;
    (doc.channels[first] as Record<string, unknown>).fallback = 'constructor';
    expect(problems(doc).map((p) => p.path)).toContain(`/channels/${first}/fallback`);
  });

  it('refuses a __proto__ key anywhere at its path (a section parsed into an object would drop it unseen)', () => {
    const text = JSON.stringify(base());
    // as JSON.parse reads a body: "__proto__" becomes an own key
    const doc = JSON.parse(
      text
        .replace('"channels":{', '"channels":{"__proto__":{"kind":"sms","address":"phone","content":["plain"],"provider":"nowhere"},')
        .replace('"templates":{', '"templates":{"__proto__":{"messageType":"nope"},'),
    );
    expect(problems(doc)).toEqual([
      { path: '/channels/__proto__', message: '"__proto__" cannot be a name here (it is reserved in JavaScript objects)' },
      { path: '/templates/__proto__', message: '"__proto__" cannot be a name here (it is reserved in JavaScript objects)' },
    ]);
    // a version stored before such keys were refused still loads, the key dropped as it always was
    expect(Object.keys(loadRuleset(doc).source.channels)).not.toContain('__proto__');
    const deep = JSON.parse(text.replace('"rules":[{', '"rules":[{"__proto__":{"x":1},'));
    expect(problems(deep).map((p) => p.path)).toEqual(['/rules/0/__proto__']);
  });

  it('rejects an unknown json-rules-engine operator at its exact path', () => {
    const doc = base();
    const rule = doc.rules[4] as { conditions: unknown };
    rule.conditions = {
      any: [
        { fact: 'message', path: 'type', operator: 'equal', value: 'otp' },
        { fact: 'message', path: 'type', operator: 'startsWith', value: 'o' },
      ],
    };
    const found = at(doc, '/rules/4/conditions/any/1/operator');
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(/equal/);
  });

  it('bounds prices, so that a cost is always a finite number', () => {
    const doc = base() as Doc & { prices: { default: Record<string, number>; markets: Record<string, Record<string, number>> } };
    doc.prices.markets.KE = { ...doc.prices.markets.KE, sms: 1.5e308 };
    doc.prices.default.email = -1;
    expect(at(doc, '/prices/markets/KE/sms')).toHaveLength(1);
    expect(at(doc, '/prices/default/email')).toHaveLength(1);
    doc.prices.markets.KE.sms = 1_000_000;
    doc.prices.default.email = 0;
    expect(validateRuleset(doc).ok).toBe(true);
  });

  it('rejects a keyword that means two things (STOP and START)', () => {
    const doc = base() as Doc & { consent: { keywords?: Record<string, { words: string[] }> } };
    const rs = loadRuleset(base());
    doc.consent.keywords = structuredClone(rs.source.consent.keywords) as unknown as Record<string, { words: string[] }>;
    (doc.consent.keywords.start as { words: string[] }).words.push('stop');
    (doc.consent.keywords.help as { words: string[] }).words.push('Stop all');
    const ps = problems(doc);
    expect(ps.find((x) => x.path.startsWith('/consent/keywords/start/words/'))?.message).toMatch(/also a stop keyword/);
    expect(ps.find((x) => x.path.startsWith('/consent/keywords/help/words/'))?.message).toMatch(/also a stopAll keyword/);
  });

  it('rejects unknown facts and fact paths', () => {
    const doc = base();
    (doc.rules[0] as { conditions: unknown }).conditions = {
      all: [
        { fact: 'weather', path: 'rain', operator: 'equal', value: true },
        { fact: 'contact', path: 'vulnerabel', operator: 'equal', value: true },
        { fact: 'contact', path: 'engagement.pigeon.read', operator: 'greaterThan', value: 1 },
        { fact: 'contact', path: 'attributes.anything.goes', operator: 'equal', value: 1 },
        { fact: 'history', path: 'promotional.day', operator: 'greaterThan', value: 0 },
      ],
    };
    const ps = problems(doc);
    expect(ps.find((p) => p.path === '/rules/0/conditions/all/0/fact')?.message).toMatch(/unknown fact "weather"/);
    expect(ps.find((p) => p.path === '/rules/0/conditions/all/1/path')?.message).toMatch(/vulnerabel/);
    expect(ps.find((p) => p.path === '/rules/0/conditions/all/2/path')?.message).toMatch(/pigeon/);
    expect(ps.some((p) => p.path.startsWith('/rules/0/conditions/all/3'))).toBe(false);
    expect(ps.some((p) => p.path.startsWith('/rules/0/conditions/all/4'))).toBe(false);
  });

  it('refuses dot paths that would load and never match, also under open branches, saying what to write', () => {
    const doc = base();
    const leaf = (fact: string, path: string) => ({ fact, path, operator: 'equal', value: 'x' });
    (doc.rules[0] as { conditions: unknown }).conditions = {
      all: [
        leaf('contact', 'attributes..plan'),
        leaf('object', '$.amount'),
        leaf('contact', 'attributes.plan[0]'),
        leaf('contact', 'attributes.plan.'),
        leaf('object', '.amount'),
        leaf('object', "$['amount']"),
        leaf('contact', 'attributes.*'),
        leaf('contact', 'attributes.plan.0'),
      ],
    };
    const msg = (i: number) => at(doc, `/rules/0/conditions/all/${i}/path`)[0]?.message ?? '';
    expect(msg(0)).toMatch(/empty segment.*write "attributes\.plan"/);
    expect(msg(1)).toMatch(/JSONPath.*write "amount"/);
    expect(msg(2)).toMatch(/brackets.*write "attributes\.plan\.0"/);
    expect(msg(3)).toMatch(/empty segment.*write "attributes\.plan"/);
    expect(msg(4)).toMatch(/empty segment.*write "amount"/);
    expect(msg(5)).toMatch(/JSONPath.*write "amount"/);
    expect(msg(6)).toMatch(/wildcard/);
    expect(at(doc, '/rules/0/conditions/all/7/path')).toEqual([]);
  });

  it('reports schema problems and the semantic problems of the parts that parse, together', () => {
    const doc = base();
    (doc.rules[0] as Record<string, unknown>).priority = 'high'; // schema: not a number
    (doc.rules[1] as { conditions: unknown }).conditions = { all: [{ fact: 'weather', operator: 'equal', value: 1 }] }; // semantic
    (doc.journeys[0] as Record<string, unknown>).trigger = 42; // schema
    const ps = problems(doc);
    expect(ps.some((p) => p.path === '/rules/0/priority')).toBe(true);
    expect(ps.find((p) => p.path === '/rules/1/conditions/all/0/fact')?.message).toMatch(/unknown fact "weather"/);
    expect(ps.some((p) => p.path.startsWith('/journeys/0/trigger'))).toBe(true);
    // nothing said twice, nothing said about the parts the schema refused beyond the schema's own words
    expect(new Set(ps.map((p) => `${p.path} ${p.message}`)).size).toBe(ps.length);
  });

  it('reads facts as own properties: inherited names such as constructor resolve to nothing', () => {
    // read as facts.constructor, the first would be Object and the second Object.prototype.toString
    const nothing = compileCondition({ fact: 'constructor', operator: 'equal', value: { fact: 'nothing' } });
    const sameFunction = compileCondition({ fact: 'toString', operator: 'equal', value: { fact: 'toString' } });
    expect(nothing({ contact: {} })).toBe(true);
    expect(sameFunction({ contact: {} })).toBe(true);
    expect(nothing({ constructor: 1 })).toBe(false);
  });

  it('rejects operator/value mismatches and empty any', () => {
    const doc = base();
    (doc.rules[0] as { conditions: unknown }).conditions = {
      all: [
        { fact: 'message', path: 'type', operator: 'in', value: 'otp' },
        { fact: 'local', path: 'hour', operator: 'greaterThan', value: '8' },
        { any: [] },
      ],
    };
    const ps = problems(doc);
    expect(ps.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/rules/0/conditions/all/0/value', '/rules/0/conditions/all/1/value', '/rules/0/conditions/all/2/any']),
    );
  });

  it('rejects unknown effects, effects in the wrong stage, and undeclared channels', () => {
    const unknown = base();
    (unknown.rules[0] as { event: unknown }).event = { type: 'teleport', params: {} };
    expect(at(unknown, '/rules/0/event/type')).toHaveLength(1);
    const doc = base();
    (doc.rules[1] as { stage: string }).stage = 'timing';
    (doc.rules[7] as { event: { params: { candidates: unknown[] } } }).event.params.candidates = ['whatsapp', 'pigeon'];
    const ps = problems(doc);
    expect(ps.find((p) => p.path === '/rules/1/event/type')?.message).toMatch(/cannot run in stage "timing"/);
    expect(ps.find((p) => p.path === '/rules/7/event/params/candidates/1')?.message).toMatch(/not declared/);
  });

  it('rejects fallbacks that loop', () => {
    const doc = base();
    const channels = doc.channels as Record<string, Record<string, unknown>>;
    (channels.sms as Record<string, unknown>).fallback = 'voice';
    (channels.voice as Record<string, unknown>).fallback = 'sms';
    expect(at(doc, '/channels/sms/fallback')[0]?.message).toBe('fallbacks loop: sms → voice → sms');
    const doc2 = base();
    (doc2.rules[8] as { event: { params: { candidates: unknown[] } } }).event.params.candidates = ['sms', 'voice', 'sms'];
    expect(at(doc2, '/rules/8/event/params/candidates/2')[0]?.message).toMatch(/fallbacks loop/);
  });

  it('rejects journeys that reference unknown events, templates or message types', () => {
    const doc = base();
    const j = doc.journeys[0] as { trigger: { event: string }; exitOn: string[]; steps: Array<Record<string, unknown>> };
    j.trigger.event = 'invoice.exploded';
    j.exitOn = ['invoice.vanished'];
    (j.steps[0] as Record<string, unknown>).template = 'nope';
    const templates = doc.templates as Record<string, Record<string, unknown>>;
    (templates.cart_reminder as Record<string, unknown>).messageType = 'carrier-pigeon';
    const ps = problems(doc);
    const paths = ps.map((p) => p.path);
    expect(paths).toContain('/templates/cart_reminder/messageType');
    // a malformed template stops validation before references are checked; fix it and look again
    (templates.cart_reminder as Record<string, unknown>).messageType = 'promotional';
    const refs = problems(doc).map((p) => p.path);
    expect(refs).toEqual(expect.arrayContaining(['/journeys/0/trigger/event', '/journeys/0/exitOn/0', '/journeys/0/steps/0/template']));
  });

  it('rejects journey jumps to missing steps and loops that never wait', () => {
    const doc = base();
    const j = doc.journeys[2] as { steps: Array<Record<string, unknown>> };
    (j.steps[3] as Record<string, unknown>).else = 'big-cart';
    const ps = problems(doc);
    expect(ps.find((p) => p.message.startsWith('steps loop without waiting'))).toBeDefined();
    (j.steps[3] as Record<string, unknown>).else = 'nowhere';
    expect(at(doc, '/journeys/2/steps/3/else')[0]?.message).toMatch(/does not exist/);
  });

  describe('journey loops', () => {
    const onOverdue = { all: [{ fact: 'event', path: 'type', operator: 'equal', value: 'invoice.overdue' }] };
    const withJourney = (steps: Array<Record<string, unknown>>) => {
      const doc = base();
      (doc.journeys as unknown[]).push({
        id: 'nag',
        name: 'Nag',
        trigger: { event: 'invoice.overdue' },
        key: 'object',
        exitOn: ['invoice.paid'],
        steps,
      });
      return doc;
    };
    const loopProblems = (steps: Array<Record<string, unknown>>) => {
      const doc = withJourney(steps);
      const r = validateRuleset(doc);
      return r.ok ? [] : r.problems.filter((p) => p.path.startsWith(`/journeys/${doc.journeys.length - 1}/`));
    };
    const send = (id: string) => ({ id, type: 'send', template: 'payment_reminder_friendly' });
    const pause = (id: string, minutes: number) => ({ id, type: 'wait', minutes });
    // biome-ignore lint/suspicious/noThenProperty: `then`/`else` name the branch targets in the ruleset document
    const back = (to: string, conditions: unknown = onOverdue) => ({ id: 'again', type: 'branch', conditions, then: to, else: 'done' });
    const done = { id: 'done', type: 'end', outcome: 'given-up' };

    it('refuses a loop that sends more often than once an hour of its own waiting, counted per message', () => {
      expect(loopProblems([send('remind'), pause('pause', 1), back('remind'), done])).toEqual([
        {
          path: expect.stringMatching(/\/steps\/0$/),
          message: expect.stringContaining('steps loop sending 1 message(s) per 1 minute(s) of waiting: remind → pause → again → remind'),
        },
      ]);
      expect(loopProblems([send('remind'), pause('pause', 60), back('remind'), done])).toEqual([]);
      // four messages 20 minutes apart: one every 20 minutes, though each comes round every 80
      const four = [
        send('a'),
        pause('w1', 20),
        send('b'),
        pause('w2', 20),
        send('c'),
        pause('w3', 20),
        send('d'),
        pause('w4', 20),
        back('a'),
        done,
      ];
      expect(loopProblems(four)[0]?.message).toMatch(/sending 4 message\(s\) per 80 minute\(s\)/);
    });

    it('takes a loop whose branch counts its rounds, or whose way round is a reply, as bounded', () => {
      const counted = { all: [{ fact: 'journey', path: 'sends', operator: 'lessThan', value: 3 }] };
      expect(loopProblems([send('remind'), pause('pause', 30), back('remind', counted), done])).toEqual([]);
      const reply = {
        id: 'ask',
        type: 'waitFor',
        events: ['reply.received'],
        timeoutMinutes: 1440,
        on: { 'reply.received': 'remind' },
        onTimeout: 'done',
      };
      expect(loopProblems([send('remind'), reply, done])).toEqual([]);
    });

    it('counts a receipt event as no wait, and a loop through a waitUntil as not waiting', () => {
      const receipt = {
        id: 'delivered',
        type: 'waitFor',
        events: ['message.delivered'],
        timeoutMinutes: 1440,
        on: { 'message.delivered': 'remind' },
        onTimeout: 'done',
      };
      expect(loopProblems([send('remind'), receipt, done])[0]?.message).toMatch(/sending 1 message\(s\) per 0 minute\(s\)/);
      const until = { id: 'later', type: 'waitUntil', field: 'dueAt', offsetMinutes: 0 };
      expect(loopProblems([send('remind'), until, back('remind'), done])[0]?.message).toMatch(/steps loop without waiting \(a waitUntil/);
    });

    it('is governance: a version stored before these checks still loads', () => {
      expect(() => loadRuleset(withJourney([send('remind'), pause('pause', 1), back('remind'), done]))).not.toThrow();
    });
  });

  it('rejects quiet-hour windows that do not parse, and unknown time zones', () => {
    const doc = base();
    (doc.quietHours as Record<string, unknown>).default = { start: '8am', end: '21:00' };
    expect(at(doc, '/quietHours/default/start')[0]?.message).toMatch(/HH:MM/);
    const doc2 = base();
    (doc2.quietHours as { markets: Record<string, unknown> }).markets.DE = { start: '09:00', end: '09:00' };
    ((doc2.markets as Record<string, Record<string, unknown>>).KE as Record<string, unknown>).timezone = 'Africa/Atlantis';
    (doc2.quietHours as Record<string, unknown>).timezone = 'Europe/Atlantis';
    const ps = problems(doc2).map((p) => p.path);
    expect(ps).toEqual(expect.arrayContaining(['/quietHours/markets/DE', '/markets/KE/timezone', '/quietHours/timezone']));
    expect(at(doc2, '/quietHours/timezone')[0]?.message).toMatch(/"Europe\/Atlantis" is not an IANA time zone/);
  });

  it('rejects unknown top-level and nested properties, naming them', () => {
    const doc = base();
    (doc as Record<string, unknown>).colour = 'blue';
    (doc.rules[0] as Record<string, unknown>).prio = 3;
    const paths = problems(doc).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/colour', '/rules/0/prio']));
  });

  it('reports schema and semantic problems together when the schema problems are inside rules or journeys', () => {
    const doc = base();
    (doc.rules[0] as { event: unknown }).event = { type: 'teleport', params: {} };
    (doc.rules[5] as { conditions: unknown }).conditions = {
      all: [{ fact: 'contact', path: 'vulnerabel', operator: 'equal', value: true }],
    };
    (doc.rules[7] as { event: { params: { candidates: unknown[] } } }).event.params.candidates = ['pigeon'];
    (doc.journeys[1] as { steps: Array<Record<string, unknown>> }).steps[0] = { id: 'x', type: 'teleport' };
    (doc.journeys[2] as { trigger: { event: string } }).trigger.event = 'cart.exploded';
    const ps = problems(doc);
    const paths = ps.map((p) => p.path);
    // schema problems
    expect(paths).toContain('/rules/0/event/type');
    expect(paths.some((p) => p.startsWith('/journeys/1/steps/0'))).toBe(true);
    // semantic problems, pointing into the document as it was sent
    expect(ps.find((p) => p.path === '/rules/5/conditions/all/0/path')?.message).toMatch(/vulnerabel/);
    expect(ps.find((p) => p.path === '/rules/7/event/params/candidates/0')?.message).toMatch(/not declared/);
    expect(ps.find((p) => p.path === '/journeys/2/trigger/event')?.message).toMatch(/cart\.exploded/);
    // the items set aside are not checked twice or guessed at
    expect(paths.filter((p) => p.startsWith('/rules/0/'))).toEqual(['/rules/0/event/type']);
  });

  it('reports only the schema problems when something outside rules and journeys is malformed', () => {
    const doc = base();
    (doc.channels as Record<string, Record<string, unknown>>).sms = { kind: 'carrier-pigeon', address: 'phone' };
    (doc.rules[5] as { conditions: unknown }).conditions = {
      all: [{ fact: 'contact', path: 'vulnerabel', operator: 'equal', value: true }],
    };
    const paths = problems(doc).map((p) => p.path);
    expect(paths).toContain('/channels/sms/kind');
    expect(paths).not.toContain('/rules/5/conditions/all/0/path');
    const notAList = base();
    (notAList as Record<string, unknown>).rules = { first: notAList.rules[0] };
    expect(problems(notAList).map((p) => p.path)).toEqual(['/rules']);
    expect(problems([1, 2]).length).toBeGreaterThan(0);
  });

  it('loadRuleset throws a coded error listing every problem', () => {
    const doc = base();
    (doc.rules[0] as { event: unknown }).event = { type: 'teleport', params: {} };
    try {
      loadRuleset(doc);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RulesetInvalidError);
      expect((e as RulesetInvalidError).code).toBe('RULES_INVALID');
      expect((e as RulesetInvalidError).status).toBe(422);
    }
    expect(() => loadRuleset('not json at all')).toThrow(RulesetInvalidError);
    expect(() => loadRuleset(null)).toThrow(RulesetInvalidError);
  });

  it('indexes rules by stage and message type so only applicable rules run', () => {
    const rs = loadRuleset(defaultRulesetDocument);
    expect(rs.index.mapping.otp.map((r) => r.name)).toEqual(['otp-transactional-sms-voice']);
    expect(rs.index.mapping.promotional.map((r) => r.name)).toEqual(['feature-phone-ussd-sms', 'promo-engaged-whatsapp', 'promo-email']);
    expect(rs.index.guards.otp.map((r) => r.name)).toContain('otp-urgent-pass-quiet-hours');
    expect(rs.index.guards.promotional.map((r) => r.name)).not.toContain('otp-urgent-pass-quiet-hours');
  });
});
