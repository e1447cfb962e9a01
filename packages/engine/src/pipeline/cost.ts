import type { Draft } from './draft.js';
import { dropCandidate, fired, isCandidate, preferCandidate, priceOf, ruleReason, unitPriceOf } from './draft.js';
import { segmentsOn } from './variant.js';

/**
 * Stage 5. Equivalent channels (a candidate group) go cheapest first on what this message costs
 * (an SMS: its segments × the price per segment); a `price` rule caps the cost of any one step.
 */
export function cost(d: Draft): void {
  if (d.content !== null) {
    for (const group of d.candidates) {
      for (const ch of group) {
        const s = segmentsOn(d, ch);
        if (s === null) continue;
        d.reasons.push({
          stage: 'cost',
          code: 'segments',
          channel: ch,
          message: `${ch}: ${s.segments} segment${s.segments === 1 ? '' : 's'} (${s.encoding}, ${s.characters} characters) × ${unitPriceOf(d, ch)} = ${priceOf(d, ch)} ${d.rs.source.prices.currency}`,
        });
      }
    }
  }
  for (const rule of fired(d, 'cost')) {
    const e = rule.effect;
    if (e.type === 'price') {
      d.reasons.push(ruleReason(rule));
      d.maxCost = d.maxCost === null ? e.params.maxCost : Math.min(d.maxCost, e.params.maxCost);
    } else if (e.type === 'prefer' && isCandidate(d, e.params.channel)) {
      d.reasons.push(ruleReason(rule));
      preferCandidate(d, e.params.channel);
    }
  }
  if (d.maxCost !== null) {
    const max = d.maxCost;
    for (const group of [...d.candidates]) {
      for (const ch of [...group]) {
        const price = priceOf(d, ch);
        if (price > max) {
          dropCandidate(d, ch);
          d.reasons.push({
            stage: 'cost',
            code: 'cost',
            channel: ch,
            message: `${ch} costs ${price} ${d.rs.source.prices.currency}, above the limit of ${max}`,
          });
        }
      }
    }
  }
  for (const group of d.candidates) {
    if (group.length < 2) continue;
    const before = group.join(',');
    // stable: equal prices keep the rule's order
    group.sort((a, b) => priceOf(d, a) - priceOf(d, b));
    d.reasons.push({
      stage: 'cost',
      code: 'ordered_by_cost',
      message: `equivalent channels by price: ${group.map((c) => `${c} ${priceOf(d, c)}`).join(' < ')}${
        before === group.join(',') ? '' : ' (reordered)'
      }`,
    });
  }
}
