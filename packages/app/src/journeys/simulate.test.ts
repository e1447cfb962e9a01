import { DEFAULT_RULESET, loadRuleset, parseDecisionContext } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { MAX_TIMELINE, simulateJourney } from './simulate.js';

describe('journey simulation', () => {
  it('stops a journey that loops at MAX_TIMELINE entries, and says so', () => {
    const doc = structuredClone(DEFAULT_RULESET) as { journeys: unknown[] };
    doc.journeys.push({
      id: 'hourly',
      name: 'Hourly',
      trigger: { event: 'invoice.overdue' },
      key: 'object',
      exitOn: ['invoice.paid'],
      steps: [
        { id: 'remind', type: 'send', template: 'payment_reminder_friendly' },
        { id: 'pause', type: 'wait', minutes: 60 },
        {
          id: 'again',
          type: 'branch',
          conditions: { all: [{ fact: 'journey', path: 'sends', operator: 'lessThan', value: 100000 }] },
          // biome-ignore lint/suspicious/noThenProperty: `then`/`else` name the branch targets in the ruleset document
          then: 'remind',
          else: 'done',
        },
        { id: 'done', type: 'end', outcome: 'given-up' },
      ],
    });
    const start = Date.parse('2026-11-23T07:00:00Z');
    const s = simulateJourney({
      ruleset: loadRuleset(doc),
      journeyId: 'hourly',
      context: parseDecisionContext({ contact: { id: 'c', market: 'KE', identities: [{ kind: 'phone', value: '+254711000001' }] } }, ''),
      events: [{ type: 'invoice.overdue', at: start, data: {}, object: { type: 'invoice', id: 'i-1' } }],
      start,
      until: start + 60 * 86_400_000,
    });
    expect(s.truncated).toBe(true);
    expect(s.timeline).toHaveLength(MAX_TIMELINE);
    expect(s.sends).toBe(s.timeline.filter((e) => e.kind === 'send').length);
    expect(s.final.status).toBe('active');
  });
});
