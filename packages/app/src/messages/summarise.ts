import type { Decision } from '@signalbox/engine';

/** The reason behind a decision in one line an agent (or a workflow branch) can read. */
export function summariseDecision(d: Decision): string {
  const step = d.plan[0];
  const fired = d.reasons.filter((r) => r.rule).map((r) => r.rule);
  const head =
    d.outcome === 'suppress'
      ? `suppressed: ${
          d.reasons
            .filter((r) => r.code === 'suppressed' || r.code === 'no_reachable_channel' || r.code === 'cap_exceeded')
            .map((r) => r.message)
            .join('; ') || 'policy'
        }`
      : `${d.outcome} by ${step?.channel ?? '—'}${
          d.plan.length > 1
            ? ` (then ${d.plan
                .slice(1)
                .map((s) => s.channel)
                .join(', ')})`
            : ''
        }`;
  return fired.length > 0 ? `${head}; rules: ${[...new Set(fired)].join(', ')}` : head;
}
