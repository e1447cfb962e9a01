import { validateRuleset } from '@signalbox/engine';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { RulesHolder } from '../../rules/rules-holder.js';
import type { Store } from '../../store/store.js';
import type { RouteSpec } from '../route-table.js';

/** Rules: read the active version (any role), validate and publish (admin). */
export function rulesRoutes(rules: RulesHolder, store: Store, clock: Clock): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/rules',
      summary: 'The active ruleset and its version',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      responses: { 200: '{version, ruleset}' },
      handler: (_req, res) => {
        res.json({ version: rules.get().version, ruleset: rules.get().source });
      },
    },
    {
      method: 'post',
      path: '/api/v1/rules/validate',
      summary: 'Validates a ruleset: schema and semantic problems, each at its JSON pointer',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{valid: true, version}', 422: 'problem+json listing every problem' },
      handler: (req, res) => {
        const v = validateRuleset(req.body);
        if (!v.ok) throw new AppError(422, 'RULES_INVALID', `ruleset has ${v.problems.length} problem(s)`, v.problems);
        res.json({ valid: true, version: v.ruleset.version });
      },
    },
    {
      method: 'put',
      path: '/api/v1/rules',
      summary: 'Publishes a ruleset (validated, audited, active at once)',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{published}', 422: 'problem+json listing every problem' },
      handler: async (req, res) => {
        const compiled = await rules.publish(store, req.body, `${req.principal?.role}:${req.principal?.name}`, clock.now().getTime());
        res.json({ published: compiled.version });
      },
    },
  ];
}
