import { createHash } from 'node:crypto';
import { ConflictError, InputError, NotFoundError } from '../../errors.js';
import type { IdempotentAnswer } from '../../messages/idempotency.js';
import { isSameRequest } from '../../requests/same-request.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { resolveContactRef } from './contact-ref.js';
import { assertKnownZones, messageBody, reviewBody, zoneOf } from './schemas.js';

const actor = (p: { role: string; name: string } | undefined) => `${p?.role}:${p?.name}`;

/** Messages: request one (decided, recorded, sent through its plan), read one, review one held for a person. */
export function messageRoutes(runtime: Runtime, now: () => number, nudge: () => void): RouteSpec[] {
  const store = runtime.store;
  return [
    {
      method: 'post',
      path: '/api/v1/messages',
      summary: 'Decide, record and send a message through its plan; a retry with the same idempotency key returns the first answer',
      tags: ['messages'],
      security: 'apiKey',
      roles: ['admin', 'integration', 'agent'],
      body: messageBody,
      headers: { 'idempotency-key': 'makes a retry return the first answer (1–200 characters)' },
      responses: {
        202: 'decided: {messageId, contactId, status, decision}; a retry with the same key (header or `message.idempotencyKey`) gets the first answer',
        409: 'IDEMPOTENCY_KEY_REUSED: the key was used with a different request; IDENTITY_CONFLICT: every identity of the contact belongs to another contact that conflicts with it (each at its path)',
        422: 'TEMPLATE_UNKNOWN or TEMPLATE_VARIABLES_MISSING: the template is not in the active ruleset, or the request lacks variables it requires',
      },
      handler: async (req, res) => {
        const body = parseBody(messageBody, req.body);
        assertKnownZones([{ zone: zoneOf(body.contact), path: '/contact/timezone' }]);
        const header = req.get('idempotency-key');
        if (header !== undefined && (header.length < 1 || header.length > 200))
          throw new InputError('Idempotency-Key must be 1–200 characters', [{ path: '/headers/idempotency-key', message: 'length 1–200' }]);
        // a key (the header's, else the body's own) is the caller's: scoped to its API key, so it never
        // names another caller's message or one Signalbox made itself (keyword replies, CRM actions);
        // either way a retry gets the first answer, and the key with another request a 409
        const key = header ?? body.message.idempotencyKey;
        const keyAt = header !== undefined ? '/headers/idempotency-key' : '/message/idempotencyKey';
        const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
        const scope = `messages:${req.principal?.name ?? ''}`;
        const replay = (prior: IdempotentAnswer) => {
          if (prior.requestHash !== hash)
            throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used with a different request', [
              { path: keyAt, message: 'a new message takes a new key' },
            ]);
          res.status(prior.status).set('idempotent-replayed', 'true').json(prior.response);
        };
        if (key !== undefined) {
          const prior = await store.idempotency.get(scope, key);
          if (prior !== null) return replay(prior);
        }
        const { idempotencyKey: _given, ...message } = body.message;
        const request = { ...message, ...(key !== undefined ? { idempotencyKey: `api:${scope}:${key}` } : {}) };
        // one unit: the key claimed first (a request with the same key at the same moment waits for
        // this one and then reads its answer), the contact resolved and locked, the decision made
        // against what was decided before it
        const out = await runtime.sender.unit(async (u) => {
          if (key !== undefined && !(await u.store.idempotency.put(scope, key, { requestHash: hash, status: 202, response: null }, now())))
            return { prior: await u.store.idempotency.get(scope, key) };
          const contactId = await resolveContactRef(u.store.contacts, body.contact, '/contact', now());
          const result = await runtime.requests.request(u, contactId, request, { checkTemplateAt: '/message' });
          if (!result.created) {
            // the key made a message before its answer was kept (a body key from before this check):
            // the same request, or a 409 (the unit rolls back whatever this one made, a contact too)
            if (!isSameRequest(await u.store.messages.get(result.messageId), contactId, { type: request.type, template: request.template }))
              throw new ConflictError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used with a different request', [
                { path: keyAt, message: 'a new message takes a new key' },
              ]);
          }
          const response = { messageId: result.messageId, contactId, status: result.status, decision: result.decision };
          if (key !== undefined) await u.store.idempotency.settle(scope, key, response);
          return { response };
        });
        if ('prior' in out) {
          if (out.prior === null) throw new Error('an idempotency key claimed by another request has no answer');
          return replay(out.prior);
        }
        const response = out.response;
        nudge();
        res.status(202).json(response);
      },
    },
    {
      method: 'get',
      path: '/api/v1/messages/:id',
      summary: 'A message with its decision, later decisions, attempts and receipts',
      tags: ['messages'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{message, decisions, attempts}' },
      handler: async (req, res) => {
        const m = await store.messages.get(String(req.params.id));
        if (m === null) throw new NotFoundError('MESSAGE_NOT_FOUND', 'no such message');
        const [attempts, decisions] = await Promise.all([store.attempts.forMessage(m.id), store.messages.decisionsOf(m.id)]);
        const receipts = await store.receipts.forAttempts(attempts.map((a) => a.id));
        res.json({
          message: m,
          decisions: decisions.map((d) => ({ at: new Date(d.at).toISOString(), decision: d.decision })),
          attempts: attempts.map((a) => ({ ...a, receipts: receipts.filter((x) => x.attemptId === a.id) })),
        });
      },
    },
    {
      method: 'post',
      path: '/api/v1/messages/:id/review',
      summary: "A person's verdict on a message held for review (approve sends it through the send gate; reject cancels it)",
      tags: ['messages'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      body: reviewBody,
      responses: { 200: '{messageId, status}' },
      handler: async (req, res) => {
        const body = parseBody(reviewBody, req.body);
        const id = String(req.params.id);
        const status = await runtime.sender.unit((u) => runtime.requests.review(u, id, body.verdict, actor(req.principal), body.note));
        nudge();
        res.json({ messageId: id, status });
      },
    },
  ];
}
