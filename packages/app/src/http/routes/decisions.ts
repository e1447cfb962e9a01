import {
  type CompiledRuleset,
  type DecisionContext,
  decideParsed,
  parseDecisionContext,
  parseMessageRequest,
  toEpoch,
} from '@signalbox/engine';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { type ContextReads, type EventReach, eventReach, loadContext } from '../../contacts/context.js';
import { normalizeIdentity } from '../../contacts/identity.js';
import { withMarket } from '../../contacts/markets.js';
import type { ContentRenderer } from '../../content/renderer.js';
import { AppError, InputError, NotFoundError } from '../../errors.js';
import { assertTemplateUsable, withTemplateDefaults } from '../../requests/template-check.js';
import type { RouteSpec } from '../route-table.js';
import { assertKnownZones, zoneOf } from './schemas.js';

const previewBody = z.object({
  message: z.unknown(),
  contact: z.unknown(),
  consent: z.unknown().optional(),
  history: z.unknown().optional(),
  events: z.unknown().optional(),
  object: z.unknown().optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});
const ISO_INSTANT = z.iso.datetime({ offset: true });

/** A contact previewed without an id (as /messages takes one) gets this one: nothing is stored. */
const PREVIEW_ID = 'preview';

/** What the active ruleset would decide for a posted contact and message, with every reason; nothing is stored or sent. */
export function decisionRoutes(ruleset: () => CompiledRuleset, clock: Clock, content: ContentRenderer, store: ContextReads): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/decisions/preview',
      summary:
        'What the active ruleset would decide for a message to a posted contact, or to a stored one named by {id} alone (its consent, history and events), with reasons; nothing stored',
      tags: ['decisions'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      body: previewBody,
      responses: { 200: '{decision}', 422: 'TEMPLATE_UNKNOWN, TEMPLATE_VARIABLES_MISSING, TEMPLATE_TYPE_MISMATCH: as POST /messages' },
      handler: async (req, res) => {
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
        if (at !== undefined && !ISO_INSTANT.safeParse(at).success)
          throw new InputError('at must be an ISO 8601 instant with its offset', [
            { path: '/at', message: 'expected an ISO 8601 date and time with an offset (2026-11-23T07:00:00Z)' },
          ]);
        const now = at === undefined ? clock.now().getTime() : toEpoch(at, '/at');
        const rs = ruleset();
        // what /messages would refuse, the preview refuses too, and it decides on what /messages
        // would decide: the request with what its template says it leaves out
        const parsed = parseMessageRequest(message, '/message');
        assertTemplateUsable(rs, parsed, '/message', '/message/type', rest.object !== undefined);
        const request = withTemplateDefaults(rs, parsed);
        // a stored contact's consent and history are for people who may read the contact (as GET /contacts/:id)
        if (isStoredRef(contact) && req.principal?.role === 'integration')
          throw new AppError(
            403,
            'ROLE_FORBIDDEN',
            'an integration key previews posted contacts only (a stored one is for admin and agent keys)',
            [{ path: '/contact/id', message: 'post the contact instead' }],
          );
        const context = isStoredRef(contact)
          ? await storedContext(store, contact.id, rest, now, eventReach(rs))
          : postedContext(contact, rest);
        // with the template's rendered text, an SMS is priced on its segments (shown in the reasons and plan)
        const facts = content.facts(rs, { request, contact: context.contact, ...(context.object ? { object: context.object } : {}) });
        res.json({ decision: decideParsed(request, context, rs, now, facts) });
      },
    },
  ];
}

/** `{id}` and nothing else names a stored contact: the preview decides as /messages would for it now. */
function isStoredRef(contact: unknown): contact is { id: string } {
  return (
    contact !== null &&
    typeof contact === 'object' &&
    !Array.isArray(contact) &&
    Object.keys(contact).length === 1 &&
    typeof (contact as { id?: unknown }).id === 'string'
  );
}

async function storedContext(
  store: ContextReads,
  id: string,
  rest: Record<string, unknown>,
  now: number,
  reach: EventReach,
): Promise<DecisionContext> {
  const posted = Object.keys(rest).filter((k) => rest[k] !== undefined);
  if (posted.length > 0)
    throw new InputError(
      'a stored contact is previewed with its own consent, history and events: post a contact without an id to try others',
      posted.map((k) => ({ path: `/${k}`, message: 'not with a stored contact (contact: {id})' })),
    );
  if ((await store.contacts.get(id)) === null)
    throw new NotFoundError('CONTACT_NOT_FOUND', `contact ${id} not found`, [{ path: '/contact/id', message: 'no such contact' }]);
  return (await loadContext(store, id, now, reach)).context;
}

/** A contact posted whole (what-if): identities as /messages and /contacts take them (E.164 phones, emails). */
function postedContext(contact: unknown, rest: Record<string, unknown>): DecisionContext {
  const withId =
    contact !== null && typeof contact === 'object' && !Array.isArray(contact) && !('id' in contact)
      ? { id: PREVIEW_ID, ...contact }
      : contact;
  const context = parseDecisionContext({ contact: withId, ...rest }, '');
  context.contact.identities = context.contact.identities.map((i, k) => ({
    kind: i.kind,
    value: normalizeIdentity(i.kind, i.value, `/contact/identities/${k}/value`),
  }));
  // the market a stored contact would get from its phone (as /messages and /contacts give it): the
  // preview prices and times the message as the send will
  context.contact = withMarket(context.contact, context.contact.identities);
  return context;
}
