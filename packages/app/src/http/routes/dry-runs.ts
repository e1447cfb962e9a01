import { loadRuleset, MESSAGE_TYPES, PURPOSES, parseMessageRequest, RulesetInvalidError } from '@signalbox/engine';
import type { Request } from 'express';
import { z } from 'zod';
import type { DryRuns } from '../../dry-run/dry-runs.js';
import { AppError, NotFoundError } from '../../errors.js';
import { type GovernanceStore, hashOf, type RulesGovernance } from '../../rules/governance.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { draftProblems } from './draft-problems.js';
import { decodeCursor, isoInstant, paged, pageFields } from './list-query.js';

const actor = (req: Request) => `${req.principal?.role}:${req.principal?.name}`;
const versionNumber = z.number().int().min(1);

export const dryRunBody = z
  .strictObject({
    /** The candidate: a stored draft, a version, or a document. */
    draftId: z
      .string()
      .regex(/^[0-9a-f-]{36}$/, 'a draft id')
      .optional(),
    version: versionNumber.optional(),
    document: z.unknown().optional(),
    /** The version to compare with (default: the active one). */
    against: versionNumber.optional(),
    sample: z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('contacts'),
        /** Every stored contact × each of these message types. */
        messageTypes: z
          .array(z.enum(MESSAGE_TYPES))
          .min(1)
          .max(MESSAGE_TYPES.length)
          // each type once: a repeat would count every contact's decision twice in the impact
          .refine((l) => new Set(l).size === l.length, 'each message type once'),
        team: z.string().min(1).max(100).optional(),
        workflow: z.string().min(1).max(200).optional(),
        category: z.string().min(1).max(100).optional(),
        purpose: z.enum(PURPOSES).optional(),
        /** The requests' priority (a budget lets a message pass one of lower priority that is still waiting to go). */
        priority: z.enum(['low', 'normal', 'high']).optional(),
        /** The moment decided for (default: now): quiet hours and the budget as of then. */
        at: isoInstant.optional(),
      }),
      z.strictObject({
        kind: z.literal('requests'),
        /** The message requests made in the last `days` days, replayed at their original times. */
        days: z.number().int().min(1).max(90),
      }),
    ]),
  })
  .refine((b) => [b.draftId, b.version, b.document].filter((x) => x !== undefined).length === 1, {
    message: 'name the candidate: exactly one of draftId, version, document',
    path: ['draftId'],
  });

const listQuery = z.strictObject(pageFields);
const isString = (v: unknown): v is string => typeof v === 'string';

const present = (r: { createdAt: number; finishedAt: number | null; done: number; total: number }) => ({
  ...r,
  createdAt: new Date(r.createdAt).toISOString(),
  finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
  progress: r.total > 0 ? Math.min(1, r.done / r.total) : 0,
});

/** Dry runs: the impact of a rules change over the stored contacts (or past requests), in the background. */
export function dryRunRoutes(d: { governance: RulesGovernance; store: GovernanceStore; dryRuns: DryRuns; now: () => number }): RouteSpec[] {
  const { governance: gov, store } = d;
  return [
    {
      method: 'post',
      path: '/api/v1/rules/dry-run',
      summary:
        'Starts a dry run of a draft, version or document against the active (or a named) version over every stored contact × message types, or the requests of the last N days replayed at their times; answers at once with its id',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      body: dryRunBody,
      responses: { 202: '{id, status: "running", progress}', 409: 'another dry run is running', 422: 'the candidate does not validate' },
      handler: async (req, res) => {
        const body = parseBody(dryRunBody, req.body);
        let document: unknown;
        let ref: string;
        if (body.draftId !== undefined) {
          const draft = await gov.draft(store, body.draftId);
          if (!draft.valid)
            throw new AppError(
              422,
              'RULES_INVALID',
              `draft ${draft.id} does not validate: it cannot be dry-run`,
              draftProblems(draft.problems, '/draftId'),
            );
          document = draft.document;
          ref = `draft ${draft.id}`;
        } else if (body.version !== undefined) {
          document = (await gov.version(store, body.version, '/version')).document;
          ref = `version ${body.version}`;
        } else {
          document = body.document;
          ref = 'document';
        }
        let candidate: ReturnType<typeof loadRuleset>;
        try {
          // a version was published valid; a posted document is held to what a publish would be
          candidate = body.version !== undefined ? loadRuleset(document) : gov.compile(document);
        } catch (e) {
          if (e instanceof RulesetInvalidError)
            throw new AppError(
              422,
              e.code,
              `the candidate does not validate: it cannot be dry-run (${e.problems.length} problem(s))`,
              body.document !== undefined
                ? e.problems.map((p) => ({ ...p, path: `/document${p.path}` }))
                : body.draftId !== undefined
                  ? draftProblems(e.problems, '/draftId')
                  : draftProblems(e.problems, '/version', 'version'),
            );
          throw e;
        }
        const base = body.against !== undefined ? await gov.version(store, body.against, '/against') : await gov.active(store);
        const baseline = loadRuleset(base.document);
        const s = body.sample;
        const now = d.now();
        const sample =
          s.kind === 'contacts'
            ? {
                kind: 'contacts' as const,
                at: s.at !== undefined ? Date.parse(s.at) : now,
                requests: s.messageTypes.map((type, i) =>
                  parseMessageRequest(
                    {
                      type,
                      ...(s.team !== undefined ? { team: s.team } : {}),
                      ...(s.workflow !== undefined ? { workflow: s.workflow } : {}),
                      ...(s.category !== undefined ? { category: s.category } : {}),
                      ...(s.purpose !== undefined ? { purpose: s.purpose } : {}),
                      ...(s.priority !== undefined ? { priority: s.priority } : {}),
                    },
                    `/sample/messageTypes/${i}`,
                  ),
                ),
              }
            : { kind: 'requests' as const, days: s.days, until: now + 1 };
        const rec = await d.dryRuns.start({
          candidate: { ruleset: candidate.source, ref, hash: hashOf(document) },
          baseline: { ruleset: baseline.source, number: base.number, label: base.label },
          sample,
          author: actor(req),
        });
        await store.audit.record(actor(req), 'rules.dry_run', rec.id, { candidate: ref, baseline: base.number, sample: s.kind }, d.now());
        res.status(202).location(`/api/v1/rules/dry-runs/${rec.id}`).json(present(rec));
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/dry-runs/:id',
      summary: 'A dry run: its progress while it runs, then the impact per team, workflow, message type and market with examples',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{id, status, done, total, progress, result}' },
      handler: async (req, res) => {
        const rec = await d.dryRuns.get(String(req.params.id));
        if (rec === null)
          throw new NotFoundError('DRY_RUN_NOT_FOUND', 'no such dry run', [{ path: '/path/id', message: 'no such dry run' }]);
        res.json(present(rec));
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/dry-runs',
      summary: 'Dry runs newest first (without their results), paged',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      query: listQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(listQuery, req.query, '/query');
        const items = await store.dryRuns.list(q.limit, decodeCursor(q.cursor, isString));
        const page = paged(items, q.limit, (x) => x.id);
        res.json({ items: page.items.map(present), next: page.next });
      },
    },
  ];
}
