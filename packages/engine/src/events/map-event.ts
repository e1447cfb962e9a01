import { resolvePath, splitPath } from '../rules/path.js';
import type { Ruleset } from '../ruleset/schema.js';

/**
 * Our event type for a CRM's raw event, from the ruleset's eventMap (configuration, not code):
 * the first entry whose `match` fields all equal the raw event's values (dot paths) wins.
 */
export function mapEventType(eventMap: Ruleset['eventMap'], source: keyof Ruleset['eventMap'], raw: unknown): string | null {
  for (const entry of eventMap[source] ?? []) {
    let ok = true;
    for (const [path, want] of Object.entries(entry.match)) {
      if (resolvePath(raw, splitPath(path)) !== want) {
        ok = false;
        break;
      }
    }
    if (ok) return entry.event;
  }
  return null;
}
