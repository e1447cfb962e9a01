import { type CompiledRuleset, loadRuleset, parseDecisionContext, RulesetInvalidError } from '@signalbox/engine';
import { z } from 'zod';
import { eventReach, loadContext } from '../../contacts/context.js';
import { AppError, AuthError, InputError } from '../../errors.js';
import { simulateJourney, simulationEnd } from '../../journeys/simulate.js';
import type { GovernanceStore, RulesGovernance } from '../../rules/governance.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { resolveContactRef } from './contact-ref.js';
import { draftProblems } from './draft-problems.js';
import { isoInstant } from './list-query.js';
import { assertIdentities, assertKnownZones, contactFields, identity } from './schemas.js';

const eventName = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must look like noun.verb (e.g. invoice.paid)');

export const simulateBody = z.strictObject({
  /** The ruleset to simulate with (default: the active version). */
  ruleset: z
    .union([
      z.strictObject({ draftId: z.string().regex(/^[0-9a-f-]{36}$/, 'a draft id') }),
      z.strictObject({ version: z.number().int().min(1) }),
      z.strictObject({ document: z.unknown() }),
    ])
    .optional(),
  journeyId: z.string().min(1).max(80),
  /** A stored contact, or one described here (nothing is stored). */
  contact: z.union([
    z.strictObject({ id: z.string().min(1).max(200) }),
    z.strictObject({ identities: z.array(identity).min(1).max(20), ...contactFields }),
  ]),
  /** Day 0 of the script (default: now). */
  start: isoInstant.optional(),
  events: z
    .array(
      z.strictObject({
        type: eventName,
        /** When: an instant, or days (and/or minutes) after `start`. */
        at: isoInstant.optional(),
        day: z.number().min(0).max(365).optional(),
        minutes: z.number().int().min(0).max(525_600).optional(),
        data: z.record(z.string(), z.unknown()).optional(),
        object: z.strictObject({ type: z.string().min(1).max(60), id: z.string().min(1).max(200) }).optional(),
      }),
    )
    .min(1)
    .max(200),
  /** How many days after `start` to run the clock (default 60). */
  days: z.number().int().min(1).max(365).optional(),
});

/** Journeys watched before they exist: the simulator. */
export function journeyRoutes(d: {
  runtime: Runtime;
  governance: RulesGovernance;
  store: GovernanceStore;
  now: () => number;
}): RouteSpec[] {
  const { governance: gov, store } = d;
  return [
    {
      method: 'post',
      path: '/api/v1/journeys/simulate',
      summary:
        'The whole timeline a journey would follow for a contact and a script of timed events (every step, decision with reasons, deferral, fallback plan, cancellation, goal), on a simulated clock with the runtime’s own state machine and decisions; nothing is stored or sent',
      tags: ['journeys'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      body: simulateBody,
      responses: {
        200: '{journeyId, rulesetVersion, timeline, final, sends, estimatedCost, truncated (the timeline stopped at 2,000 entries)}',
        403: 'ROLE_FORBIDDEN: a draft (`ruleset.draftId`) is for admins only',
      },
      handler: async (req, res) => {
        const body = parseBody(simulateBody, req.body);
        let rs: CompiledRuleset;
        try {
          const r = body.ruleset;
          if (r === undefined) rs = loadRuleset((await gov.active(store)).document);
          else if ('draftId' in r) {
            // drafts are the admins' (their list, contents and diffs are)
            if (req.principal?.role !== 'admin')
              throw new AuthError(403, 'ROLE_FORBIDDEN', `role ${req.principal?.role} may not read drafts (needs admin)`, [
                { path: '/ruleset/draftId', message: 'names a draft: admins only' },
              ]);
            // a draft is simulated only when it could be published (as a dry run of it)
            const draft = await gov.draft(store, r.draftId, '/ruleset/draftId');
            if (!draft.valid) throw new RulesetInvalidError(draft.problems);
            rs = gov.compile(draft.document);
          } else if ('version' in r) rs = loadRuleset((await gov.version(store, r.version, '/ruleset/version')).document);
          else rs = gov.compile(r.document);
        } catch (e) {
          if (e instanceof RulesetInvalidError)
            throw new AppError(
              422,
              e.code,
              'the ruleset does not validate: it cannot be simulated',
              body.ruleset && 'draftId' in body.ruleset
                ? draftProblems(e.problems, '/ruleset/draftId')
                : body.ruleset && 'version' in body.ruleset
                  ? draftProblems(e.problems, '/ruleset/version', 'version')
                  : e.problems.map((p) => ({
                      ...p,
                      path: `/ruleset${body.ruleset && 'document' in body.ruleset ? '/document' : ''}${p.path}`,
                    })),
            );
          throw e;
        }
        const start = body.start !== undefined ? Date.parse(body.start) : d.now();
        const events = body.events.map((e, i) => {
          if (e.at !== undefined && (e.day !== undefined || e.minutes !== undefined))
            throw new InputError('give `at`, or `day`/`minutes`, not both', [
              { path: `/events/${i}/at`, message: 'either at or day/minutes' },
            ]);
          const at = e.at !== undefined ? Date.parse(e.at) : start + (e.day ?? 0) * 86_400_000 + (e.minutes ?? 0) * 60_000;
          return { type: e.type, at, data: e.data ?? {}, object: e.object };
        });
        let context: Parameters<typeof simulateJourney>[0]['context'];
        if ('id' in body.contact) {
          // a contact that is not there is refused at /contact/id, as /messages refuses it
          const id = await resolveContactRef(runtime(d).contacts, body.contact, '/contact', start);
          context = (await loadContext(runtime(d), id, start, eventReach(rs))).context;
        } else {
          assertIdentities([{ ref: body.contact, path: '/contact' }]);
          assertKnownZones([{ zone: body.contact.timezone, path: '/contact/timezone' }]);
          context = parseDecisionContext({ contact: { id: 'simulated-contact', ...body.contact } }, '');
        }
        res.json(
          simulateJourney({ ruleset: rs, journeyId: body.journeyId, context, events, start, until: simulationEnd(start, body.days) }),
        );
      },
    },
  ];
}

const runtime = (d: { runtime: Runtime }) => d.runtime.store;
