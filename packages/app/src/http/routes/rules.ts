import { RulesetInvalidError, rulesetJsonSchema } from '@signalbox/engine';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AppError, AuthError, ConflictError, InputError } from '../../errors.js';
import { type GovernanceStore, type RulesGovernance, StalePublishError } from '../../rules/governance.js';
import type { RulesHolder } from '../../rules/rules-holder.js';
import { utf8OrNull } from '../json-body.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { draftProblems } from './draft-problems.js';
import { decodeCursor, paged, pageFields } from './list-query.js';

const actor = (req: Request) => `${req.principal?.role}:${req.principal?.name}`;

const MAX_VERSION = 2_147_483_647;
/** A version number in a JSON body: a number (`true`, `[1]` or `" 1 "` are not one). */
const versionNumber = z.number().int().min(1).max(MAX_VERSION);
/** A version number in a path or query: its digits (`1e3` or `0x10` are not one). */
const versionText = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'a version number (digits)')
  .transform(Number)
  .pipe(z.number().max(MAX_VERSION));
const reason = z.string().trim().min(3, 'say why (at least 3 characters)').max(2000);
const uuid = z.string().regex(/^[0-9a-f-]{36}$/, 'a draft id');

/** `active`, a version number, or a draft id: what a diff compares. */
const docRef = z.union([z.literal('active'), versionText, uuid]);

export const publishBody = z
  .strictObject({
    /** The ruleset to publish, or `draftId` naming a stored draft. */
    document: z.unknown().optional(),
    draftId: uuid.optional(),
    reason,
    /** The version the change was made on (or send `If-Match: "<n>"`). */
    basedOn: versionNumber.optional(),
    /** The dry run looked at before publishing (kept with the version). */
    dryRunId: z.string().min(1).max(60).optional(),
  })
  .refine((b) => (b.document === undefined) !== (b.draftId === undefined), {
    message: 'give either `document` or `draftId`',
    path: ['document'],
  });
const rollbackBody = z.strictObject({ to: versionNumber, reason, basedOn: versionNumber.optional() });
const draftBody = z.strictObject({ document: z.unknown() });
const diffQuery = z.strictObject({ from: docRef.default('active'), to: docRef });
const versionsQuery = z.strictObject(pageFields);

const isNumber = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isString = (v: unknown): v is string => typeof v === 'string';

/** `If-Match: "3"`, `W/"3"` or `3`: the version a change was based on (`*`: any, as no header). */
function ifMatch(req: Request): number | undefined {
  const h = req.get('if-match');
  if (h === undefined || h.trim() === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,10})"?$/.exec(h.trim());
  if (m === null || Number(m[1]) < 1 || Number(m[1]) > MAX_VERSION)
    throw new InputError('If-Match names a version number', [{ path: '/headers/if-match', message: `e.g. "3" (1 to ${MAX_VERSION})` }]);
  return Number(m[1]);
}

/** A stale base: 409 with the version it was based on, the active one and the diff between them. */
function staleAnswer(res: Response, e: StalePublishError): void {
  res.status(409).type('application/problem+json').json({
    type: 'https://signalbox.dev/problems/rules-version-stale',
    title: 'Conflict',
    status: 409,
    detail: e.message,
    code: e.code,
    errors: e.problems,
    basedOn: e.basedOn,
    current: e.current,
    diff: e.diff,
  });
}

/** A header's text: Node reads header bytes as Latin-1; a client sending UTF-8 (most do) means UTF-8. */
function headerText(v: string | undefined): string | undefined {
  return v === undefined ? undefined : (utf8OrNull(Buffer.from(v, 'latin1')) ?? v);
}

/**
 * Rules as versioned documents: the active one, versions, drafts, diffs, publish (based on a
 * version), rollback; the legacy `PUT /api/v1/rules` publishes too.
 */
export function rulesRoutes(d: { rules: RulesHolder; governance: RulesGovernance; store: GovernanceStore }): RouteSpec[] {
  const { governance: gov, store } = d;
  /** The document a diff side names. */
  const resolve = async (ref: z.output<typeof docRef>, path: string): Promise<{ ref: string; document: unknown }> => {
    if (ref === 'active') {
      const v = await gov.active(store);
      return { ref: `version ${v.number} (active)`, document: v.document };
    }
    if (typeof ref === 'number') return { ref: `version ${ref}`, document: (await gov.version(store, ref, path)).document };
    return { ref: `draft ${ref}`, document: (await gov.draft(store, ref, path)).document };
  };
  const publishAnswer = (v: { number: number; label: string; hash: string; createdAt: number }) => ({
    published: v.label,
    number: v.number,
    hash: v.hash,
    etag: `"${v.number}"`,
    at: new Date(v.createdAt).toISOString(),
  });
  return [
    {
      method: 'get',
      path: '/api/v1/rules',
      summary: 'The active ruleset and its version',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      responses: { 200: '{version, number, ruleset}; ETag names the version number' },
      handler: async (_req, res) => {
        const v = await gov.active(store);
        res.set('etag', `"${v.number}"`).json({ version: d.rules.get().version, number: v.number, ruleset: d.rules.get().source });
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/schema',
      summary: 'The published JSON Schema of a ruleset (what editors validate and complete with)',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: 'JSON Schema' },
      handler: (_req, res) => {
        res.json(rulesetJsonSchema());
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
        const v = gov.validate(req.body);
        if (!v.ok) throw new AppError(422, 'RULES_INVALID', `ruleset has ${v.problems.length} problem(s)`, v.problems);
        res.json({ valid: true, version: v.ruleset.version });
      },
    },
    {
      method: 'put',
      path: '/api/v1/rules',
      summary: 'Publishes a ruleset (legacy: based on whatever is active; validated, audited, active at once)',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      headers: { 'x-signalbox-reason': 'why (kept with the version)' },
      responses: { 200: '{published, number, hash}', 422: 'problem+json listing every problem' },
      handler: async (req, res) => {
        const given = headerText(req.get('x-signalbox-reason'));
        const why =
          given === undefined || given.trim() === ''
            ? 'published with PUT /api/v1/rules (no reason given)'
            : parseBody(reason, given, '/headers/x-signalbox-reason');
        // based on whatever is active, unless the caller said which version it read (If-Match)
        const basedOn = ifMatch(req) ?? null;
        try {
          const { version } = await gov.publish(store, { document: req.body, reason: why, basedOn, actor: actor(req) });
          res.set('etag', `"${version.number}"`).json(publishAnswer(version));
        } catch (e) {
          if (e instanceof StalePublishError) {
            staleAnswer(res, e);
            return;
          }
          throw e;
        }
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/versions',
      summary: 'Published versions newest first (number, label, author, time, reason, hash), paged; which is active',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: versionsQuery,
      responses: { 200: '{active, items, next}' },
      handler: async (req, res) => {
        const q = parseBody(versionsQuery, req.query, '/query');
        const active = await gov.active(store);
        const before = decodeCursor(q.cursor, isNumber);
        const items = await store.rules.versions(q.limit, before);
        const page = paged(items, q.limit, (v) => v.number);
        res.json({
          active: active.number,
          items: page.items.map((v) => ({ ...v, createdAt: new Date(v.createdAt).toISOString(), active: v.number === active.number })),
          next: page.next,
        });
      },
    },
    {
      method: 'post',
      path: '/api/v1/rules/versions',
      summary:
        'Publishes a ruleset (a document or a stored draft) as a new version with a reason, based on the active version (`basedOn` or If-Match); a stale base is refused 409 with the diff to the active one',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      body: publishBody,
      headers: { 'if-match': 'the version the change was based on, e.g. "3"' },
      responses: { 201: '{published, number, hash, etag}', 409: 'stale base: problem+json with `current` and `diff`', 422: 'invalid' },
      handler: async (req, res) => {
        const body = parseBody(publishBody, req.body);
        const header = ifMatch(req);
        const basedOn = body.basedOn ?? header;
        if (basedOn === undefined)
          throw new InputError('name the version the change was based on', [
            { path: '/basedOn', message: 'required (or send If-Match: "<version number>")' },
          ]);
        if (body.basedOn !== undefined && header !== undefined && body.basedOn !== header)
          throw new InputError('basedOn and If-Match disagree', [{ path: '/basedOn', message: `If-Match says ${header}` }]);
        let document = body.document;
        if (body.draftId !== undefined) {
          const draft = await gov.draft(store, body.draftId);
          if (!draft.valid)
            throw new AppError(
              422,
              'RULES_INVALID',
              `draft ${draft.id} does not validate: it cannot be published`,
              draftProblems(draft.problems, '/draftId'),
            );
          document = draft.document;
        }
        try {
          const { version } = await gov.publish(store, {
            document,
            reason: body.reason,
            basedOn,
            actor: actor(req),
            dryRunId: body.dryRunId ?? null,
          });
          res.status(201).set('etag', `"${version.number}"`).json(publishAnswer(version));
        } catch (e) {
          // the problems (and the detail naming them) at their paths in this body
          if (e instanceof RulesetInvalidError && body.document !== undefined)
            throw new RulesetInvalidError(e.problems.map((p) => ({ ...p, path: `/document${p.path}` })));
          if (e instanceof RulesetInvalidError) throw new RulesetInvalidError(draftProblems(e.problems, '/draftId'));
          if (e instanceof ConflictError && e.code === 'RULES_LABEL_TAKEN' && body.document !== undefined)
            throw new ConflictError(
              e.code,
              e.message,
              e.problems.map((p) => ({ ...p, path: `/document${p.path}` })),
            );
          if (e instanceof StalePublishError) {
            staleAnswer(res, e);
            return;
          }
          throw e;
        }
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/versions/:n',
      summary: 'One published version with its document',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{number, label, hash, author, reason, basedOn, createdAt, active, document}' },
      handler: async (req, res) => {
        const n = parseBody(versionText, req.params.n, '/path/n');
        const [v, active] = await Promise.all([gov.version(store, n, '/path/n'), gov.active(store)]);
        res.set('etag', `"${v.number}"`).json({ ...v, createdAt: new Date(v.createdAt).toISOString(), active: v.number === active.number });
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/diff',
      summary:
        'Structural diff between two rulesets (`active`, a version number or a draft id — drafts for admins only): rules, caps, prices, quiet hours, journeys added, removed or changed, with JSON pointers',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: diffQuery,
      responses: { 200: '{from, to, identical, summary, items: [{section, key, change, pointer, changes: [{op, pointer, from, to}]}]}' },
      handler: async (req, res) => {
        const q = parseBody(diffQuery, req.query, '/query');
        // drafts are the admins' (their list and contents are): an agent diffs published versions only
        const draft =
          typeof q.to === 'string' && q.to !== 'active' ? 'to' : typeof q.from === 'string' && q.from !== 'active' ? 'from' : null;
        if (draft !== null && req.principal?.role !== 'admin')
          throw new AuthError(403, 'ROLE_FORBIDDEN', `role ${req.principal?.role} may not read drafts (needs admin)`, [
            { path: `/query/${draft}`, message: 'names a draft: admins only' },
          ]);
        const [a, b] = await Promise.all([resolve(q.from, '/query/from'), resolve(q.to, '/query/to')]);
        res.json({ from: a.ref, to: b.ref, ...gov.diff(a.document, b.document) });
      },
    },
    {
      method: 'post',
      path: '/api/v1/rules/drafts',
      summary: 'Stores a candidate ruleset without activating it; its validation problems (with pointers) come back and are kept',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      body: draftBody,
      responses: { 201: '{id, label, hash, valid, problems, diff (against the active version)}' },
      handler: async (req, res) => {
        const body = parseBody(draftBody, req.body);
        if (body.document === undefined) throw new InputError('a draft needs its document', [{ path: '/document', message: 'required' }]);
        const draft = await gov.saveDraft(store, body.document, actor(req));
        const active = await gov.active(store);
        res.status(201).json({
          id: draft.id,
          label: draft.label,
          hash: draft.hash,
          valid: draft.valid,
          problems: draft.problems.map((p) => ({ ...p, path: `/document${p.path}` })),
          basedOn: active.number,
          diff: gov.diff(active.document, draft.document),
        });
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/drafts',
      summary: 'Stored drafts, newest first, paged',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      query: versionsQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(versionsQuery, req.query, '/query');
        const items = await store.drafts.list(q.limit, decodeCursor(q.cursor, isString));
        const page = paged(items, q.limit, (x) => x.id);
        res.json({ items: page.items.map((x) => ({ ...x, createdAt: new Date(x.createdAt).toISOString() })), next: page.next });
      },
    },
    {
      method: 'get',
      path: '/api/v1/rules/drafts/:id',
      summary: 'One draft with its document and problems',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{id, label, document, hash, valid, problems}' },
      handler: async (req, res) => {
        const draft = await gov.draft(store, parseBody(uuid, req.params.id, '/path/id'), '/path/id');
        // the problems point into this answer's `document`, as they did in the answer that stored it
        res.json({
          ...draft,
          problems: draft.problems.map((p) => ({ ...p, path: `/document${p.path}` })),
          createdAt: new Date(draft.createdAt).toISOString(),
        });
      },
    },
    {
      method: 'post',
      path: '/api/v1/rules/rollback',
      summary: 'Makes a named earlier version the active one again (audited with the reason); the worker gets it at once',
      tags: ['rules'],
      security: 'apiKey',
      roles: ['admin'],
      body: rollbackBody,
      responses: { 200: '{active, previous, label}', 409: 'already active, or stale base' },
      handler: async (req, res) => {
        const body = parseBody(rollbackBody, req.body);
        const r = await gov.rollback(store, { to: body.to, reason: body.reason, actor: actor(req), basedOn: body.basedOn });
        res.set('etag', `"${r.version.number}"`).json({ active: r.version.number, previous: r.previous, label: r.version.label });
      },
    },
  ];
}
