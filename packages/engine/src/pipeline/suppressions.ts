import type { PastEvent } from '../model/context.js';
import type { ObjectRef } from '../model/event.js';
import { resolvePath, splitPath } from '../rules/path.js';
import type { Ruleset } from '../ruleset/schema.js';

const DAY = 86_400_000;

/**
 * Derives the `suppressions` fact from the contact's recent events: each declared window is
 * open or not (per CRM object when events carry one), each `latest` entry is a value or null.
 */
export function deriveSuppressions(
  defs: Ruleset['suppressions'],
  events: readonly PastEvent[],
  eventTimes: readonly number[],
  object: ObjectRef | undefined,
  now: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, def] of entriesOf(defs)) {
    if (def.kind === 'window') {
      if (events.length === 0) {
        out[name] = false;
        continue;
      }
      // latest opening and closing per object (or for the contact as a whole); few events, so arrays
      const keys: string[] = [];
      const opened: number[] = [];
      const closed: number[] = [];
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as PastEvent;
        const at = eventTimes[i] as number;
        if (at > now) continue;
        const opens = def.opens.includes(e.type);
        const closes = !opens && def.closes.includes(e.type);
        if (!opens && !closes) continue;
        if (def.scope === 'object' && (object === undefined || e.object?.type !== object.type || e.object.id !== object.id)) {
          continue;
        }
        const key = e.object ? `${e.object.type}:${e.object.id}` : '';
        let k = keys.indexOf(key);
        if (k < 0) {
          k = keys.push(key) - 1;
          opened.push(-1);
          closed.push(-1);
        }
        if (opens) opened[k] = Math.max(opened[k] as number, at);
        else closed[k] = Math.max(closed[k] as number, at);
      }
      let active = false;
      for (let k = 0; k < keys.length; k++) {
        const open = opened[k] as number;
        if (open < 0 || (closed[k] as number) >= open) continue;
        if (def.forDays !== undefined && now - open > def.forDays * DAY) continue;
        active = true;
        break;
      }
      out[name] = active;
    } else {
      const segments = fieldSegments(def.field);
      let bestAt = -1;
      let value: unknown = null;
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as PastEvent;
        const at = eventTimes[i] as number;
        if (at > now || now - at > def.withinDays * DAY || !def.events.includes(e.type)) continue;
        if (at >= bestAt) {
          bestAt = at;
          const v = resolvePath(e.data, segments);
          value = v === undefined ? null : v;
        }
      }
      out[name] = value;
    }
  }
  return out;
}

const segmentCache = new Map<string, string[]>();
function fieldSegments(field: string): string[] {
  let s = segmentCache.get(field);
  if (s === undefined) {
    s = splitPath(field);
    segmentCache.set(field, s);
  }
  return s;
}

const entryCache = new WeakMap<object, Array<[string, Ruleset['suppressions'][string]]>>();
function entriesOf(defs: Ruleset['suppressions']): Array<[string, Ruleset['suppressions'][string]]> {
  let e = entryCache.get(defs);
  if (e === undefined) {
    e = Object.entries(defs);
    entryCache.set(defs, e);
  }
  return e;
}
