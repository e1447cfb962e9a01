import type { Draft } from './draft.js';
import { applyExclude, fired, isCandidate, preferCandidate, ruleReason } from './draft.js';

/**
 * Stage 2. Message type → ordered candidate channels. The highest-priority `channels` rule wins
 * (lower ones are recorded as shadowed); prefer/exclude rules then adjust; the last candidate's
 * declared fallback chain is appended.
 */
export function mapping(d: Draft): void {
  let winner: string | null = null;
  for (const rule of fired(d, 'mapping')) {
    const e = rule.effect;
    if (e.type === 'channels') {
      if (winner !== null) {
        d.reasons.push({
          stage: 'mapping',
          code: 'rule_shadowed',
          rule: rule.name,
          effect: 'channels',
          message: `mapping not used: rule ${winner} has priority`,
        });
        continue;
      }
      winner = rule.name;
      d.reasons.push(ruleReason(rule));
      d.mapped = true;
      d.candidates = e.params.candidates.map((c) => (Array.isArray(c) ? [...c] : [c]));
      d.also = (e.params.also ?? []).map((a) => ({ channel: a.channel, delayMinutes: a.delayMinutes }));
    }
  }
  if (!d.mapped) {
    d.reasons.push({ stage: 'mapping', code: 'no_mapping', message: `no mapping rule gives channels for ${d.request.type}` });
    return;
  }
  // fallback chains declared on channels extend the end of the list
  const channels = d.rs.source.channels;
  const last = d.candidates[d.candidates.length - 1];
  let next = last !== undefined ? channels[last[last.length - 1] as string]?.fallback : undefined;
  while (next !== undefined && !isCandidate(d, next)) {
    d.candidates.push([next]);
    next = channels[next]?.fallback;
  }
  for (const rule of fired(d, 'mapping')) {
    const e = rule.effect;
    if (e.type === 'prefer') {
      d.reasons.push(ruleReason(rule));
      preferCandidate(d, e.params.channel);
    } else if (e.type === 'exclude') {
      applyExclude(d, rule, 'excluded');
    }
  }
}
