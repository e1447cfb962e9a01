import type { Problem } from '../errors.js';
import { pointerSegment } from '../errors.js';
import { EVENT_TYPES, MESSAGE_TYPES, type Stage } from '../model/vocabulary.js';
import { ARRAY_VALUE_OPERATORS, NUMERIC_OPERATORS, type OperatorName } from '../rules/operators.js';
import { isValidTimeZone, parseHhmm } from '../time/zoned.js';
import { type CatalogueScope, checkFactPath, FACT_CATALOGUE, type FactNode, JOURNEY_FACT_CATALOGUE } from './fact-catalogue.js';
import type { Condition, EffectType, JourneyDefinition, Ruleset } from './schema.js';

/** Which effects each stage may use. */
export const STAGE_EFFECTS: Record<Stage, readonly EffectType[]> = {
  guards: ['suppress', 'review', 'cap', 'bypass', 'defer'],
  mapping: ['channels', 'prefer', 'exclude'],
  capability: ['exclude'],
  preferences: ['prefer', 'exclude'],
  cost: ['price', 'prefer'],
  timing: ['defer'],
  plan: ['fallbackAfter', 'adaptContent', 'escalate'],
};

const p = (...segments: Array<string | number>): string => segments.map((s) => `/${pointerSegment(s)}`).join('');

/** Everything the schema cannot say: references, loops, parses, stage/effect fit. */
export function validateSemantics(rs: Ruleset): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const channels = new Set(Object.keys(rs.channels));
  const markets = new Set(Object.keys(rs.markets));
  const knownEvents = new Set<string>(EVENT_TYPES);
  for (const entries of Object.values(rs.eventMap)) for (const e of entries) knownEvents.add(e.event);
  const checkChannel = (path: string, ch: string) => {
    if (!channels.has(ch)) add(path, `channel "${ch}" is not declared in /channels`);
  };
  const checkEvent = (path: string, ev: string) => {
    if (!knownEvents.has(ev)) add(path, `event "${ev}" is not in the vocabulary nor produced by /eventMap`);
  };

  // channels and their fallback chains
  for (const [name, ch] of Object.entries(rs.channels)) {
    if (ch.fallback !== undefined) {
      if (!channels.has(ch.fallback)) add(p('channels', name, 'fallback'), `channel "${ch.fallback}" is not declared`);
      else if (ch.fallback === name) add(p('channels', name, 'fallback'), `channel "${name}" falls back to itself`);
    }
  }
  for (const start of channels) {
    const seen = [start];
    let cur = rs.channels[start]?.fallback;
    while (cur !== undefined && channels.has(cur)) {
      if (cur === start) {
        add(p('channels', start, 'fallback'), `fallbacks loop: ${[...seen, cur].join(' → ')}`);
        break;
      }
      if (seen.includes(cur)) break; // a loop not through start; reported from its own members
      seen.push(cur);
      cur = rs.channels[cur]?.fallback;
    }
  }

  // prices
  for (const ch of channels) {
    if (rs.prices.default[ch] === undefined) add(p('prices', 'default', ch), `no default price for channel "${ch}"`);
  }
  for (const ch of Object.keys(rs.prices.default)) checkChannel(p('prices', 'default', ch), ch);
  for (const [m, table] of Object.entries(rs.prices.markets)) {
    if (!markets.has(m)) add(p('prices', 'markets', m), `market "${m}" is not declared in /markets`);
    for (const ch of Object.keys(table)) checkChannel(p('prices', 'markets', m, ch), ch);
  }

  // markets
  for (const [m, market] of Object.entries(rs.markets)) {
    if (!isValidTimeZone(market.timezone)) add(p('markets', m, 'timezone'), `"${market.timezone}" is not an IANA time zone`);
    market.channels.forEach((ch, i) => checkChannel(p('markets', m, 'channels', i), ch));
    market.messengers.forEach((ch, i) => checkChannel(p('markets', m, 'messengers', i), ch));
  }

  // quiet hours
  const checkWindow = (path: string, w: { start: string; end: string }) => {
    if (parseHhmm(w.start) % 1440 === parseHhmm(w.end) % 1440) add(path, `window ${w.start}–${w.end} is empty`);
  };
  if (!isValidTimeZone(rs.quietHours.timezone))
    add(p('quietHours', 'timezone'), `"${rs.quietHours.timezone}" is not an IANA time zone (e.g. Europe/Berlin, Africa/Nairobi)`);
  checkWindow(p('quietHours', 'default'), rs.quietHours.default);
  for (const [m, w] of Object.entries(rs.quietHours.markets)) {
    if (!markets.has(m)) add(p('quietHours', 'markets', m), `market "${m}" is not declared in /markets`);
    checkWindow(p('quietHours', 'markets', m), w);
  }

  // consent keywords: one reply means one thing (the same word as STOP and START would undo itself)
  const keywordOwner = new Map<string, string>();
  for (const kind of ['stopAll', 'stop', 'start', 'help'] as const)
    rs.consent.keywords[kind].words.forEach((w, i) => {
      const key = w
        .normalize('NFKD')
        .replace(/\p{M}/gu, '')
        .toUpperCase()
        .replace(/[^\p{L}\p{N}]+/gu, '');
      // a word of only emoji or punctuation matches no reply (replies are read the same way)
      if (key === '') return;
      const owner = keywordOwner.get(key);
      if (owner !== undefined && owner !== kind)
        add(p('consent', 'keywords', kind, 'words', i), `"${w}" is also a ${owner} keyword: a reply must mean one thing`);
      else keywordOwner.set(key, kind);
    });

  // caps
  const capIds = new Set<string>();
  rs.caps.forEach((cap, i) => {
    if (capIds.has(cap.id)) add(p('caps', i, 'id'), `cap id "${cap.id}" is used twice`);
    capIds.add(cap.id);
    cap.channels?.forEach((ch, j) => checkChannel(p('caps', i, 'channels', j), ch));
  });

  // suppressions
  for (const [name, s] of Object.entries(rs.suppressions)) {
    if (s.kind === 'window') {
      s.opens.forEach((e, i) => checkEvent(p('suppressions', name, 'opens', i), e));
      s.closes.forEach((e, i) => checkEvent(p('suppressions', name, 'closes', i), e));
    } else {
      s.events.forEach((e, i) => checkEvent(p('suppressions', name, 'events', i), e));
    }
  }

  // rules
  const scope: CatalogueScope = {
    channels,
    messageTypes: new Set(MESSAGE_TYPES),
    suppressions: new Set(Object.keys(rs.suppressions)),
  };
  const ruleNames = new Set<string>();
  rs.rules.forEach((rule, i) => {
    const base = p('rules', i);
    if (ruleNames.has(rule.name)) add(`${base}/name`, `rule name "${rule.name}" is used twice`);
    ruleNames.add(rule.name);
    checkConditions(rule.conditions, `${base}/conditions`, FACT_CATALOGUE, scope, add);
    const effect = rule.event;
    if (!STAGE_EFFECTS[rule.stage].includes(effect.type)) {
      add(
        `${base}/event/type`,
        `effect "${effect.type}" cannot run in stage "${rule.stage}" (allowed there: ${STAGE_EFFECTS[rule.stage].join(', ')})`,
      );
    }
    const ep = `${base}/event/params`;
    switch (effect.type) {
      case 'channels': {
        const seen = new Set<string>();
        effect.params.candidates.forEach((c, j) => {
          const group = Array.isArray(c) ? c : [c];
          group.forEach((ch, k) => {
            const at = Array.isArray(c) ? `${ep}/candidates/${j}/${k}` : `${ep}/candidates/${j}`;
            checkChannel(at, ch);
            if (seen.has(ch)) add(at, `fallbacks loop: channel "${ch}" appears twice in the candidates`);
            seen.add(ch);
          });
        });
        effect.params.also?.forEach((a, j) => checkChannel(`${ep}/also/${j}/channel`, a.channel));
        break;
      }
      case 'prefer':
      case 'fallbackAfter':
      case 'adaptContent':
        checkChannel(`${ep}/channel`, effect.params.channel);
        break;
      case 'exclude':
        effect.params.channels.forEach((ch, j) => checkChannel(`${ep}/channels/${j}`, ch));
        break;
      case 'escalate':
        checkChannel(`${ep}/channel`, effect.params.channel);
        if (effect.params.also !== undefined) checkChannel(`${ep}/also`, effect.params.also);
        break;
      default:
        break;
    }
  });

  // templates, journeys
  const templates = new Set(Object.keys(rs.templates));
  for (const [name, t] of Object.entries(rs.templates)) {
    for (const [kind, byLanguage] of Object.entries(t.content ?? {})) {
      if (byLanguage !== undefined && !(t.fallbackLanguage in byLanguage))
        add(p('templates', name, 'content', kind), `has no variant in the fallback language "${t.fallbackLanguage}"`);
    }
  }
  const journeyIds = new Set<string>();
  rs.journeys.forEach((j, i) => {
    const base = p('journeys', i);
    if (journeyIds.has(j.id)) add(`${base}/id`, `journey id "${j.id}" is used twice`);
    journeyIds.add(j.id);
    checkEvent(`${base}/trigger/event`, j.trigger.event);
    if (j.trigger.conditions) {
      checkConditions(j.trigger.conditions, `${base}/trigger/conditions`, JOURNEY_FACT_CATALOGUE, scope, add);
    }
    j.exitOn.forEach((e, k) => checkEvent(`${base}/exitOn/${k}`, e));
    if (j.goal) checkEvent(`${base}/goal/event`, j.goal.event);
    checkJourneySteps(j, base, templates, checkEvent, scope, add);
  });

  return problems;
}

function checkJourneySteps(
  j: JourneyDefinition,
  base: string,
  templates: ReadonlySet<string>,
  checkEvent: (path: string, ev: string) => void,
  scope: CatalogueScope,
  add: (path: string, message: string) => void,
): void {
  const ids = new Map<string, number>();
  j.steps.forEach((s, k) => {
    if (ids.has(s.id)) add(`${base}/steps/${k}/id`, `step id "${s.id}" is used twice`);
    ids.set(s.id, k);
  });
  const target = (path: string, id: string) => {
    if (!ids.has(id)) add(path, `step "${id}" does not exist in journey "${j.id}"`);
  };
  j.steps.forEach((s, k) => {
    const sp = `${base}/steps/${k}`;
    switch (s.type) {
      case 'send':
        if (!templates.has(s.template)) add(`${sp}/template`, `template "${s.template}" is not declared in /templates`);
        break;
      case 'waitFor':
        s.events.forEach((e, m) => checkEvent(`${sp}/events/${m}`, e));
        for (const [ev, to] of Object.entries(s.on)) {
          if (!s.events.includes(ev)) add(`${sp}/on/${pointerSegment(ev)}`, `"${ev}" is not one of the events this step waits for`);
          target(`${sp}/on/${pointerSegment(ev)}`, to);
        }
        if (s.onTimeout !== undefined) target(`${sp}/onTimeout`, s.onTimeout);
        break;
      case 'branch':
        checkConditions(s.conditions, `${sp}/conditions`, JOURNEY_FACT_CATALOGUE, scope, add);
        target(`${sp}/then`, s.then);
        target(`${sp}/else`, s.else);
        break;
      default:
        break;
    }
  });
  // A cycle through steps that never wait would spin forever inside one advance().
  const instantNext = (k: number): number[] => {
    const s = j.steps[k];
    if (s === undefined) return [];
    if (s.type === 'send') return k + 1 < j.steps.length ? [k + 1] : [];
    if (s.type === 'branch') return [ids.get(s.then), ids.get(s.else)].filter((x): x is number => x !== undefined);
    return [];
  };
  const state = new Array<number>(j.steps.length).fill(0);
  const visit = (k: number, trail: number[]): boolean => {
    if (state[k] === 1) {
      const loop = [...trail.slice(trail.indexOf(k)), k].map((x) => j.steps[x]?.id);
      add(`${base}/steps/${k}`, `steps loop without waiting: ${loop.join(' → ')}`);
      return true;
    }
    if (state[k] === 2) return false;
    state[k] = 1;
    for (const n of instantNext(k)) if (visit(n, [...trail, k])) return true;
    state[k] = 2;
    return false;
  };
  for (let k = 0; k < j.steps.length; k++) if (visit(k, [])) break;
}

function checkConditions(
  c: Condition,
  path: string,
  catalogue: Record<string, FactNode>,
  scope: CatalogueScope,
  add: (path: string, message: string) => void,
): void {
  if ('all' in c) {
    c.all.forEach((x, i) => checkConditions(x, `${path}/all/${i}`, catalogue, scope, add));
    return;
  }
  if ('any' in c) {
    if (c.any.length === 0) add(`${path}/any`, 'an empty "any" is always true in json-rules-engine; remove it or add conditions');
    c.any.forEach((x, i) => checkConditions(x, `${path}/any/${i}`, catalogue, scope, add));
    return;
  }
  if ('not' in c) {
    checkConditions(c.not, `${path}/not`, catalogue, scope, add);
    return;
  }
  const err = checkFactPath(catalogue, c.fact, c.path, scope);
  // an unknown fact is the fact's fault, an unknown path under a known fact the path's
  if (err !== null) add(c.path === undefined || !Object.hasOwn(catalogue, c.fact) ? `${path}/fact` : `${path}/path`, err);
  const op = c.operator as OperatorName;
  const v = c.value;
  const isRef = v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isRef) {
    const refErr = checkFactPath(catalogue, v.fact, v.path, scope);
    if (refErr !== null) add(`${path}/value`, refErr);
    if (ARRAY_VALUE_OPERATORS.has(op) || op === 'contains' || op === 'doesNotContain') {
      add(`${path}/value`, `operator "${op}" needs a literal value, not a fact reference`);
    }
    return;
  }
  if (ARRAY_VALUE_OPERATORS.has(op) && !Array.isArray(v)) add(`${path}/value`, `operator "${op}" needs an array value`);
  if (!ARRAY_VALUE_OPERATORS.has(op) && Array.isArray(v)) add(`${path}/value`, `operator "${op}" compares with one value, not an array`);
  if (NUMERIC_OPERATORS.has(op) && typeof v !== 'number') add(`${path}/value`, `operator "${op}" needs a number`);
}
