import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { mayMoveOthers } from './journeys.js';

const rs = loadRuleset(DEFAULT_RULESET);
const invoice = { type: 'invoice', id: 'inv-1' };

describe('mayMoveOthers: an event that may move another contact’s journey (keyed on its object)', () => {
  it('is one about an object whose type some journey reacts to (the payment reminder exits on invoice.paid)', () => {
    expect(mayMoveOthers(rs, { type: 'invoice.paid', object: invoice })).toBe(true);
  });
  it('is not one without an object, nor one no journey reacts to (an overdue invoice only starts a journey)', () => {
    expect(mayMoveOthers(rs, { type: 'invoice.paid' })).toBe(false);
    expect(mayMoveOthers(rs, { type: 'invoice.overdue', object: invoice })).toBe(false);
    expect(mayMoveOthers(rs, { type: 'something.else', object: invoice })).toBe(false);
  });
});
