import { describe, expect, it } from 'vitest';
import { STAGES } from '../model/vocabulary.js';
import { contact, EMAIL_OPT_IN, MORNING_KE, rs } from '../testing/decide-kit.js';
import { fireCompiled, parseDecisionContext, parseMessageRequest } from './decide.js';
import { buildFacts } from './facts.js';

describe('fireCompiled', () => {
  it("gives, per stage, the indexed rules whose conditions hold, in the ruleset's order", () => {
    const req = parseMessageRequest({ type: 'service', category: 'collections' });
    const ctx = parseDecisionContext({ contact: contact({ vulnerable: true }), consent: [EMAIL_OPT_IN] });
    const { facts } = buildFacts(req, ctx, rs, Date.parse(MORNING_KE));
    const fired = Object.fromEntries(STAGES.map((s) => [s, fireCompiled(rs, s, 'service', facts).map((r) => r.name)]));
    expect(fired.guards).toEqual(['vulnerable-collections-review']);
    expect(fired.mapping).toEqual(['service-whatsapp-sms']);
    expect(fired.plan).toEqual(['service-whatsapp-15min', 'service-viber-15min']);
    for (const s of STAGES) expect(rs.evaluate(s, 'service', facts).map((r) => r.name)).toEqual(fired[s]);
  });
});
