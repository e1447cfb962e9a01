import { validateRuleset } from '@signalbox/engine';
import { Router } from 'express';
import type { Clock } from '../../clock.js';
import type { RulesHolder } from '../../rules-holder.js';
import type { Store } from '../../store/store.js';
import type { apiKeyAuth } from '../auth.js';
import { HttpProblem } from '../problem.js';

/** Rules: read the active version (any role), validate (admin), publish (admin only). */
export function rulesRoutes(rules: RulesHolder, store: Store, auth: ReturnType<typeof apiKeyAuth>, clock: Clock): Router {
  const r = Router();
  r.get('/', auth(['admin', 'agent', 'integration']), (_req, res) => {
    res.json({ version: rules.get().version, ruleset: rules.get().source });
  });
  r.post('/validate', auth(['admin']), (req, res) => {
    const v = validateRuleset(req.body);
    if (!v.ok)
      throw new HttpProblem(422, 'RULES_INVALID', 'Unprocessable content', `ruleset has ${v.problems.length} problem(s)`, v.problems);
    res.json({ valid: true, version: v.ruleset.version });
  });
  r.put('/', auth(['admin']), async (req, res) => {
    const compiled = await rules.publish(store, req.body, `${req.principal?.role}:${req.principal?.name}`, clock.now().getTime());
    res.json({ published: compiled.version });
  });
  return r;
}
