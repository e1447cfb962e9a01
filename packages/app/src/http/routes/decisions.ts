import { type CompiledRuleset, decideParsed, parseDecisionContext, parseMessageRequest, toEpoch } from '@signalbox/engine';
import { Router } from 'express';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { HttpProblem } from '../problem.js';

const previewEnvelope = z.object({
  message: z.unknown(),
  contact: z.unknown(),
  consent: z.unknown().optional(),
  history: z.unknown().optional(),
  events: z.unknown().optional(),
  object: z.unknown().optional(),
  at: z.string().optional(),
});

/**
 * POST /api/v1/decisions/preview: what the active ruleset would decide for a posted contact and
 * message, with every reason. Nothing is stored or sent.
 */
export function decisionRoutes(ruleset: () => CompiledRuleset, clock: Clock): Router {
  const router = Router();
  router.post('/preview', (req, res) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', 'the body must be a JSON object {message, contact, …}', [
        { path: '', message: 'expected an object' },
      ]);
    }
    const env = previewEnvelope.safeParse(body);
    if (!env.success || !('message' in body) || !('contact' in body)) {
      const missing = ['message', 'contact'].filter((k) => !(k in body));
      throw new HttpProblem(
        400,
        'INPUT_INVALID',
        'Bad request',
        `missing ${missing.join(' and ')}`,
        missing.map((k) => ({ path: `/${k}`, message: 'required' })),
      );
    }
    const { message, at, ...contextParts } = env.data;
    const request = parseMessageRequest(message, '/message');
    const context = parseDecisionContext(contextParts, '');
    const now = at === undefined ? clock.now().getTime() : toEpoch(at, '/at');
    const rs = ruleset();
    res.json({ decision: decideParsed(request, context, rs, now) });
  });
  return router;
}
