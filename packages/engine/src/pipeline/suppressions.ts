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
  for (const [name, def] of Object.entries(defs)) {
    if (def.kind === 'window') {
      // latest opening and closing per object (or for the contact as a whole)
      const state = new Map<string, { open: number; close: number }>();
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
        const s = state.get(key) ?? { open: -1, close: -1 };
        if (opens) s.open = Math.max(s.open, at);
        else s.close = Math.max(s.close, at);
        state.set(key, s);
      }
      let active = false;
      for (const s of state.values()) {
        if (s.open < 0 || s.close >= s.open) continue;
        if (def.forDays !== undefined && now - s.open > def.forDays * DAY) continue;
        active = true;
        break;
      }
      out[name] = active;
    } else {
      const segments = splitPath(def.field);
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
