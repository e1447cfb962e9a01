/**
 * Names an admin chooses (a channel, a journey's outcome) are keys of plain objects where they are
 * tallied and compared: `constructor` or `toString` must count and diff as any other name, never
 * as Object.prototype's.
 */
import type { Decision } from '@signalbox/engine';
import { DEFAULT_RULESET } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { Impact } from '../dry-run/impact.js';
import { journeyReport } from '../reports/operations.js';
import { diffRulesets } from './ruleset-diff.js';

const decision = (channel: string): Decision =>
  ({
    outcome: 'send',
    plan: [{ step: 0, channel, mode: 'primary', sendAt: '2026-11-23T07:00:00Z', timeoutMinutes: null }],
    estimatedCost: 0.01,
    reasons: [],
    sendAt: '2026-11-23T07:00:00Z',
  }) as unknown as Decision;

describe('names that are also Object.prototype keys', () => {
  it('a channel named constructor is added in a diff, not changed', () => {
    const from = structuredClone(DEFAULT_RULESET) as { channels: Record<string, unknown> };
    const to = structuredClone(from);
    // own keys, as JSON.parse makes them
    Object.defineProperty(to.channels, 'constructor', { value: structuredClone(to.channels.sms), enumerable: true });
    Object.defineProperty(to.channels, 'toString', { value: structuredClone(to.channels.sms), enumerable: true });
    const diff = diffRulesets(from, to);
    const added = diff.items
      .filter((i) => i.section === 'channels' && ['constructor', 'toString'].includes(i.key))
      .map((i) => [i.key, i.change]);
    expect(added).toEqual([
      ['constructor', 'added'],
      ['toString', 'added'],
    ]);
  });

  it('a dry run counts decisions on a channel named constructor as numbers, also merged across threads', () => {
    const impact = new Impact();
    const g = { team: 't', workflow: 'w', messageType: 'otp', market: 'KE' };
    impact.add(g, 'c1', decision('sms'), decision('constructor'));
    impact.add(g, 'c2', decision('sms'), decision('constructor'));
    const data = impact.data();
    expect(data.candidate.channels).toEqual({ constructor: 2 });
    const merged = Impact.merge([data, structuredClone(data)]);
    expect(merged.candidate.channels).toEqual({ constructor: 4 });
  });

  it('a journey outcome named toString is counted', () => {
    const [r] = journeyReport([
      { id: 'j1', journeyId: 'x', status: 'completed', outcome: 'toString', goalReached: false, events: [] },
      { id: 'j2', journeyId: 'x', status: 'completed', outcome: 'toString', goalReached: false, events: [] },
    ]);
    expect(r?.outcomes).toEqual({ toString: 2 });
  });
});
