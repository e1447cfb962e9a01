import { type CompiledRuleset, decideParsed, parseDecisionContext, parseMessageRequest, toEpoch } from '@signalbox/engine';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { normalizeIdentity } from '../../contacts/identity.js';
import type { ContentRenderer } from '../../content/renderer.js';
import { InputError } from '../../errors.js';
import type { RouteSpec } from '../route-table.js';
import { assertKnownZones, zoneOf } from './schemas.js';

const previewBody = z.object({
  message: z.unknown(),
  contact: z.unknown(),
  consent: z.unknown().optional(),
  history: z.unknown().optional(),
  events: z.unknown().optional(),
  object: z.unknown().optional(),
  at: z.string().optional(),
});

/** A contact previewed without an id (as /messages takes one) gets this one: nothing is stored. */
const PREVIEW_ID = 'preview';

/** What the active ruleset would decide for a posted contact and message, with every reason; nothing is stored or sent. */
export function decisionRoutes(ruleset: () => CompiledRuleset, clock: Clock, content: ContentRenderer): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/decisions/preview',
      summary: 'What the active ruleset would decide for a contact (with or without an id) and a message, with reasons; nothing stored',
      tags: ['decisions'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      body: previewBody,
      responses: { 200: '{decision}' },
      handler: (req, res) => {
        const body: unknown = req.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body))
          throw new InputError('the body must be a JSON object {message, contact, …}', [{ path: '', message: 'expected an object' }]);
        const missing = ['message', 'contact'].filter((k) => !(k in body));
        if (missing.length > 0)
          throw new InputError(
            `missing ${missing.join(' and ')}`,
            missing.map((k) => ({ path: `/${k}`, message: 'required' })),
          );
        const { message, at, contact, ...rest } = body as z.infer<typeof previewBody>;
        assertKnownZones([{ zone: zoneOf(contact), path: '/contact/timezone' }]);
        const withId =
          contact !== null && typeof contact === 'object' && !Array.isArray(contact) && !('id' in contact)
            ? { id: PREVIEW_ID, ...contact }
            : contact;
        const request = parseMessageRequest(message, '/message');
        const context = parseDecisionContext({ contact: withId, ...rest }, '');
        // the contact's identities as /messages and /contacts take them (E.164 phones, emails)
        context.contact.identities = context.contact.identities.map((i, k) => ({
          kind: i.kind,
          value: normalizeIdentity(i.kind, i.value, `/contact/identities/${k}/value`),
        }));
        if (at !== undefined && typeof at !== 'string')
          throw new InputError('at must be an ISO 8601 instant', [{ path: '/at', message: 'expected a string (ISO 8601)' }]);
        const now = at === undefined ? clock.now().getTime() : toEpoch(at, '/at');
        const rs = ruleset();
        // with the template's rendered text, an SMS is priced on its segments (shown in the reasons and plan)
        const facts = content.facts(rs, { request, contact: context.contact, ...(context.object ? { object: context.object } : {}) });
        res.json({ decision: decideParsed(request, context, rs, now, facts) });
      },
    },
  ];
}
