import type { Draft } from './draft.js';
import { applyExclude, dropCandidate, fired, isCandidate, preferCandidate, ruleReason } from './draft.js';

/** Stage 4. The contact's own preference for this message type, then preference rules. */
export function preferences(d: Draft): void {
  const pref = d.ctx.contact.preferences[d.request.type];
  if (pref !== undefined) {
    for (const ch of pref.exclude ?? []) {
      if (dropCandidate(d, ch)) {
        d.reasons.push({
          stage: 'preferences',
          code: 'preference',
          channel: ch,
          message: `contact does not want ${d.request.type} on ${ch}`,
        });
      }
    }
    const wanted = pref.channel;
    if (wanted !== undefined && isCandidate(d, wanted)) {
      preferCandidate(d, wanted);
      d.reasons.push({
        stage: 'preferences',
        code: 'preferred',
        channel: wanted,
        message: `contact prefers ${wanted} for ${d.request.type}`,
      });
    }
  }
  for (const rule of fired(d, 'preferences')) {
    const e = rule.effect;
    if (e.type === 'prefer') {
      if (!isCandidate(d, e.params.channel)) continue;
      d.reasons.push(ruleReason(rule));
      preferCandidate(d, e.params.channel);
    } else if (e.type === 'exclude') {
      applyExclude(d, rule, 'preference');
    }
  }
}
