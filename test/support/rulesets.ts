import { DEFAULT_RULESET } from '@signalbox/engine';

type Doc = Record<string, unknown> & { version: string; rules: unknown[]; quietHours: { default: { start: string; end: string } } };

/** The default ruleset under another version label, changed by `change`. */
export function rulesetWith(version: string, change: (d: Doc) => void = () => undefined): Doc {
  const d = structuredClone(DEFAULT_RULESET) as unknown as Doc;
  d.version = version;
  change(d);
  return d;
}

/** A guard rule suppressing one message type in one market (a change a dry run must see). */
export const suppressIn = (market: string, type: string) => ({
  name: `no-${type}-${market.toLowerCase()}`,
  stage: 'guards',
  priority: 95,
  conditions: {
    all: [
      { fact: 'message', path: 'type', operator: 'equal', value: type },
      { fact: 'contact', path: 'market', operator: 'equal', value: market },
    ],
  },
  event: { type: 'suppress', params: { reason: `no ${type} messages in ${market} for now` } },
});
