import { createHash } from 'node:crypto';
import { type ConsentRecord, IDENTITY_KINDS, messageRequestSchema, PURPOSES } from '@signalbox/engine';
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { Role } from '../../config.js';
import { NotFoundError, type Runtime } from '../../runtime/runtime.js';
import { IdentityError } from '../../store/identity.js';
import type { apiKeyAuth } from '../auth.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem } from '../problem.js';
import { parseBody } from '../validate.js';

const identity = z.strictObject({ kind: z.enum(IDENTITY_KINDS), value: z.string().min(1).max(320) });
const contactRef = z.union([
  z.strictObject({ id: z.string().min(1).max(200) }),
  z.strictObject({ identities: z.array(identity).min(1).max(20) }),
]);

export const messageBody = z.strictObject({ contact: contactRef, message: messageRequestSchema });

const eventBody = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must look like noun.verb'),
  occurredAt: z.iso.datetime({ offset: true }),
  contact: contactRef,
  object: z.strictObject({ type: z.string().min(1).max(60), id: z.string().min(1).max(200) }).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export const eventsBody = z.union([eventBody, z.array(eventBody).min(1).max(100)]);

export const contactUpsert = z.strictObject({
  identities: z.array(identity).min(1).max(20),
  timezone: z.string().max(64).optional(),
  market: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  locale: z.string().max(35).optional(),
  smartphone: z.boolean().optional(),
  vulnerable: z.boolean().optional(),
  capabilities: z.record(z.string(), z.boolean()).optional(),
  preferences: z.record(z.string(), z.strictObject({ channel: z.string().optional(), exclude: z.array(z.string()).optional() })).optional(),
  tags: z.array(z.string().max(100)).max(100).optional(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});

export const consentBody = z.strictObject({
  channel: z.string().min(1).max(40),
  purpose: z.union([z.enum(PURPOSES), z.literal('*')]),
  status: z.enum(['granted', 'revoked']),
  source: z.enum(['crm', 'agent', 'api', 'import']).optional(),
  legalBasis: z.string().max(100).optional(),
  evidence: z.string().max(2000).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});

const MS = { from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) };

type Auth = ReturnType<typeof apiKeyAuth>;

function mapStoreErrors(e: unknown, base: string): never {
  if (e instanceof IdentityError)
    throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', e.message, [{ path: `${base}${e.path}`, message: e.message }]);
  if (e instanceof NotFoundError) throw new HttpProblem(404, 'CONTACT_NOT_FOUND', 'Not found', e.message);
  throw e;
}

export function runtimeRoutes(runtime: Runtime, auth: Auth, metrics: Metrics, now: () => number): Router {
  const r = Router();
  const store = runtime.store;
  const roles = (...x: Role[]) => auth(x);

  async function resolveContact(ref: z.infer<typeof contactRef>, base: string): Promise<string> {
    if ('id' in ref) {
      const c = await store.getContact(ref.id);
      if (c === null)
        throw new HttpProblem(404, 'CONTACT_NOT_FOUND', 'Not found', `contact ${ref.id} not found`, [
          { path: `${base}/id`, message: 'no such contact' },
        ]);
      return c.id;
    }
    try {
      return (await store.upsertContact({ identities: ref.identities }, now())).contact.id;
    } catch (e) {
      mapStoreErrors(e, base);
    }
  }

  // ---- messages
  r.post('/messages', roles('admin', 'integration', 'agent'), async (req, res) => {
    const body = parseBody(messageBody, req.body);
    const key = req.get('idempotency-key');
    if (key !== undefined && (key.length < 1 || key.length > 200))
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', 'Idempotency-Key must be 1–200 characters', [
        { path: '/headers/idempotency-key', message: 'length 1–200' },
      ]);
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const scope = `messages:${req.principal?.name ?? ''}`;
    if (key !== undefined) {
      const prior = await store.getIdempotent(scope, key);
      if (prior !== null) {
        if (prior.requestHash !== hash)
          throw new HttpProblem(409, 'IDEMPOTENCY_KEY_REUSED', 'Conflict', 'this Idempotency-Key was used with a different request');
        res.status(prior.status).set('idempotent-replayed', 'true').json(prior.response);
        return;
      }
    }
    const contactId = await resolveContact(body.contact, '/contact');
    const request = { ...body.message, ...(key !== undefined ? { idempotencyKey: `api:${scope}:${key}` } : {}) };
    const result = await runtime.requestMessage(contactId, request);
    metrics.messagesRequested.inc({ type: request.type, outcome: result.decision.outcome });
    const response = { messageId: result.messageId, contactId, status: result.status, decision: result.decision };
    if (key !== undefined) await store.putIdempotent(scope, key, hash, 202, response, now());
    res.status(202).json(response);
  });

  r.get('/messages/:id', roles('admin', 'agent'), async (req, res) => {
    const m = await store.getMessage(String(req.params.id));
    if (m === null) throw new HttpProblem(404, 'MESSAGE_NOT_FOUND', 'Not found', 'no such message');
    const attempts = await store.attemptsForMessage(m.id);
    const receipts = await store.receiptsForAttempts(attempts.map((a) => a.id));
    res.json({ message: m, attempts: attempts.map((a) => ({ ...a, receipts: receipts.filter((x) => x.attemptId === a.id) })) });
  });

  r.post('/messages/:id/review', roles('admin', 'agent'), async (req, res) => {
    const body = parseBody(z.strictObject({ verdict: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() }), req.body);
    try {
      const result = await runtime.review(String(req.params.id), body.verdict, `${req.principal?.role}:${req.principal?.name}`, body.note);
      if (result === 'not-in-review')
        throw new HttpProblem(409, 'MESSAGE_NOT_IN_REVIEW', 'Conflict', 'this message is not waiting for review');
      req.app.emit('work');
      res.json({ messageId: String(req.params.id), status: result });
    } catch (e) {
      if (e instanceof NotFoundError) throw new HttpProblem(404, 'MESSAGE_NOT_FOUND', 'Not found', 'no such message');
      throw e;
    }
  });

  // ---- events
  // ---- contacts
  r.post('/contacts', roles('admin', 'integration'), async (req, res) => {
    const body = parseBody(contactUpsert, req.body);
    try {
      const result = await store.upsertContact(body, now());
      res.status(result.created ? 201 : 200).json(result);
    } catch (e) {
      mapStoreErrors(e, '');
    }
  });

  r.post('/contacts/import', roles('admin', 'integration'), async (req, res) => {
    const body = parseBody(z.array(contactUpsert).min(1).max(1000), req.body);
    const results: Array<{
      index: number;
      contactId?: string;
      created?: boolean;
      conflicts?: number;
      error?: { path: string; message: string };
    }> = [];
    for (const [index, c] of body.entries()) {
      try {
        const r2 = await store.upsertContact(c, now());
        results.push({ index, contactId: r2.contact.id, created: r2.created, conflicts: r2.conflicts.length });
      } catch (e) {
        if (e instanceof IdentityError) results.push({ index, error: { path: `/${index}${e.path}`, message: e.message } });
        else throw e;
      }
    }
    res.json({
      imported: results.filter((x) => x.error === undefined).length,
      failed: results.filter((x) => x.error !== undefined).length,
      results,
    });
  });

  const contactOr404 = async (req: Request) => {
    const c = await store.getContact(String(req.params.id));
    if (c === null) throw new HttpProblem(404, 'CONTACT_NOT_FOUND', 'Not found', 'no such contact');
    return c;
  };

  r.get('/contacts/:id', roles('admin', 'agent'), async (req, res) => {
    const contact = await contactOr404(req);
    const t = now();
    const [messages, events, journeys, conflicts, consent] = await Promise.all([
      store.messagesForContact(contact.id, 50),
      store.recentEvents(contact.id, t - 365 * 86_400_000),
      store.instancesForContact(contact.id),
      store.identityConflicts(contact.id),
      store.consentLedger(contact.id),
    ]);
    const timeline = [
      ...messages.map((m) => ({
        at: new Date(m.createdAt).toISOString(),
        kind: 'message' as const,
        id: m.id,
        type: m.type,
        status: m.status,
        channel: m.channel,
        team: m.team,
        journey: m.journeyId,
      })),
      ...events.map((e) => ({ at: e.at, kind: 'event' as const, type: e.type, object: e.object ?? null })),
    ].sort((a, b) => (a.at < b.at ? 1 : -1));
    res.json({
      contact,
      timeline,
      journeys: journeys.map((j) => ({ id: j.id, journeyId: j.journeyId, status: j.status })),
      consent,
      conflicts,
    });
  });

  r.get('/contacts/:id/consent', roles('admin', 'agent'), async (req, res) => {
    const contact = await contactOr404(req);
    res.json({ contactId: contact.id, ledger: await store.consentLedger(contact.id) });
  });

  r.post('/contacts/:id/consent', roles('admin', 'agent', 'integration'), async (req, res) => {
    const contact = await contactOr404(req);
    const body = parseBody(consentBody, req.body);
    const role = req.principal?.role;
    // least privilege: an agent records as an agent; only admin and integration keys may speak for the CRM or an import
    const source: ConsentRecord['source'] = role === 'agent' ? 'agent' : (body.source ?? 'api');
    if (role === 'agent' && body.source !== undefined && body.source !== 'agent') {
      throw new HttpProblem(403, 'ROLE_FORBIDDEN', 'Forbidden', `an agent key cannot record consent on behalf of source "${body.source}"`, [
        { path: '/source', message: 'agents record as agent' },
      ]);
    }
    const record: ConsentRecord = {
      channel: body.channel,
      purpose: body.purpose,
      status: body.status,
      source,
      at: body.at ?? new Date(now()).toISOString(),
    };
    if (body.legalBasis !== undefined) record.legalBasis = body.legalBasis;
    if (body.evidence !== undefined) record.evidence = body.evidence;
    await runtime.writeConsent(contact.id, record);
    await store.audit(
      `${role}:${req.principal?.name}`,
      'consent.write',
      contact.id,
      { channel: body.channel, purpose: body.purpose, status: body.status, source },
      now(),
    );
    res.status(201).json({ contactId: contact.id, record });
  });

  r.get('/contacts/:id/decisions', roles('admin', 'agent'), async (req, res) => {
    const contact = await contactOr404(req);
    const messages = await store.messagesForContact(contact.id, 50);
    res.json({ contactId: contact.id, decisions: messages.map((m) => ({ messageId: m.id, status: m.status, decision: m.decision })) });
  });

  // ---- reports
  r.get('/reports/inventory', roles('admin'), async (req, res) => {
    const q = parseBody(z.strictObject(MS), { from: req.query.from, to: req.query.to }, '/query');
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (to <= from)
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', '`to` must be after `from`', [
        { path: '/query/to', message: 'must be after from' },
      ]);
    const rows = await store.inventory(from, to);
    const total = rows.reduce((acc, x) => ({ messages: acc.messages + x.messages, cost: Math.round((acc.cost + x.cost) * 1e6) / 1e6 }), {
      messages: 0,
      cost: 0,
    });
    const by = (key: 'channel' | 'team' | 'journey' | 'type' | 'status') => {
      const m = new Map<string, { messages: number; cost: number }>();
      for (const x of rows) {
        const k = String(x[key] ?? '(none)');
        const cur = m.get(k) ?? { messages: 0, cost: 0 };
        m.set(k, { messages: cur.messages + x.messages, cost: Math.round((cur.cost + x.cost) * 1e6) / 1e6 });
      }
      return Object.fromEntries(m);
    };
    res.json({
      from: q.from,
      to: q.to,
      total,
      byChannel: by('channel'),
      byTeam: by('team'),
      byJourney: by('journey'),
      byType: by('type'),
      byOutcome: by('status'),
      rows,
    });
  });

  return r;
}
