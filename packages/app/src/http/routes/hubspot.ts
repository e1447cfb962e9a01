import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type HubspotGateway, verifyHubspotSignature } from '@signalbox/connectors';
import { type CompiledRuleset, MESSAGE_TYPES, PURPOSES } from '@signalbox/engine';
import express, { type Request, Router } from 'express';
import { z } from 'zod';
import { buildCard } from '../../hubspot/card.js';
import { type HubspotService, hubspotIdentity, summariseDecision } from '../../hubspot/service.js';
import type { Logger } from '../../logger.js';
import type { Runtime } from '../../runtime/runtime.js';
import { HttpProblem } from '../problem.js';
import { ReplayGuard } from '../replay-guard.js';
import { parseBody } from '../validate.js';

export interface HubspotRouteDeps {
  service: HubspotService;
  gateway: HubspotGateway;
  runtime: Runtime;
  ruleset: () => CompiledRuleset;
  clientSecret: string;
  /** The public base URL HubSpot calls (signatures cover the full URL); else taken from the request. */
  publicUrl?: string | undefined;
  log: Logger;
  now: () => number;
  /** Remembers v3 signatures inside their window (shared through Redis when configured). */
  replay?: ReplayGuard;
}

const messageType = z.enum(MESSAGE_TYPES as unknown as [string, ...string[]]);
const purpose = z.enum(PURPOSES as unknown as [string, ...string[]]);

export const customActionBody = z.looseObject({
  callbackId: z.string().min(1).max(200),
  origin: z.looseObject({ portalId: z.number().int().positive() }),
  object: z.looseObject({ objectId: z.union([z.number().int(), z.string().min(1)]), objectType: z.string().min(1).max(40) }),
  inputFields: z.looseObject({
    messageType,
    template: z.string().min(1).max(120).optional(),
    purpose: purpose.optional(),
  }),
});

export const cardSendBody = z.strictObject({
  objectId: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  messageType,
  template: z.string().min(1).max(120).optional(),
  purpose: purpose.optional(),
});

/**
 * HubSpot's side of Signalbox: Webhooks API deliveries, the custom workflow action, the "Send a
 * webhook" workflow action, the app card (`hubspot.fetch`) and the OAuth install. Every request is
 * verified against the app's client secret before anything in it is trusted; a forged, stale or
 * replayed one is 401 and logged without its body.
 */
export function hubspotRoutes(d: HubspotRouteDeps): Router {
  const r = Router();
  // raw bodies on these routes only: the signatures cover the exact bytes
  const raw = express.raw({ type: () => true, limit: '1mb' });

  const fullUrl = (req: Request) => `${d.publicUrl ?? `${req.protocol}://${req.get('host')}`}${req.originalUrl}`;
  const replay = d.replay ?? new ReplayGuard(10 * 60_000);
  const verified = async (req: Request, accept: Array<'v1' | 'v2' | 'v3'>): Promise<unknown> => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verifyHubspotSignature(
      d.clientSecret,
      { method: req.method, url: fullUrl(req), rawBody: raw, header: (n) => req.get(n) },
      Date.now(),
      accept,
    );
    if (!check.ok) {
      d.log.warn({ path: req.path, reason: check.reason }, 'HubSpot request refused');
      throw new HttpProblem(401, 'SIGNATURE_INVALID', 'Unauthorized', `HubSpot signature ${check.reason}`);
    }
    // a timestamped request is good once: the same signature again is a replay
    if (check.version === 'v3' && !(await replay.firstUse(String(req.get('x-hubspot-signature-v3')), Date.now()))) {
      d.log.warn({ path: req.path }, 'HubSpot request replayed');
      throw new HttpProblem(401, 'SIGNATURE_REPLAYED', 'Unauthorized', 'HubSpot signature already used');
    }
    if (raw.length === 0) return undefined;
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpProblem(400, 'BODY_NOT_JSON', 'Bad request', 'the body is not valid JSON', [{ path: '', message: 'not valid JSON' }]);
    }
  };

  // Webhooks API: v1 (the Webhooks API's own) or v3 when present; durable before the 200
  r.post('/hooks/hubspot/webhooks', raw, async (req, res) => {
    const body = await verified(req, ['v1', 'v3']);
    const result = await d.service.acceptWebhookBatch(body, (req.body as Buffer).toString('utf8'));
    res.json(result);
    d.service.nudge();
  });

  // custom workflow action "Send via Signalbox" (v2; v3 when the platform adds it)
  r.post('/hooks/hubspot/actions/send', raw, async (req, res) => {
    const body = parseBody(customActionBody, await verified(req, ['v2', 'v3']));
    const out = await d.service.workflowSend({
      callbackId: body.callbackId,
      portalId: body.origin.portalId,
      objectType: body.object.objectType,
      objectId: String(body.object.objectId),
      messageType: body.inputFields.messageType,
      template: body.inputFields.template,
      purpose: body.inputFields.purpose,
    });
    res.json(out);
  });

  // "Send a webhook" workflow action: the enrolled record, an event name in the URL
  r.post('/hooks/hubspot/workflow-webhook', raw, async (req, res) => {
    const body = await verified(req, ['v2', 'v3']);
    const q = parseBody(
      z.strictObject({
        portalId: z.coerce.number().int().positive(),
        event: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
        objectType: z.enum(['contact', 'ticket', 'deal', 'invoice']).default('contact'),
      }),
      req.query,
      '/query',
    );
    const record = parseBody(
      z.looseObject({
        objectId: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
        id: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
        vid: z.number().int().optional(),
      }),
      body ?? {},
    );
    const objectId = record.objectId ?? record.id ?? record.vid;
    if (objectId === undefined)
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', 'the record has no objectId', [
        { path: '/objectId', message: 'required' },
      ]);
    // HubSpot retries the same request: the same body and event are the same delivery
    const digest = createHash('sha256')
      .update(req.body as Buffer)
      .update(q.event)
      .digest('hex')
      .slice(0, 32);
    const result = await d.service.acceptWorkflowEvent({
      portalId: q.portalId,
      objectType: q.objectType,
      objectId: String(objectId),
      event: q.event,
      deliveryId: `wf-${digest}`,
    });
    res.json(result);
    d.service.nudge();
  });

  const cardContact = async (req: Request, objectId: string) => {
    const portalId = Number(req.query.portalId);
    if (!Number.isInteger(portalId) || portalId <= 0)
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', 'portalId is missing', [{ path: '/query/portalId', message: 'required' }]);
    const id = await d.service.contactFor(portalId, objectId);
    if (id === null) throw new HttpProblem(404, 'CONTACT_NOT_FOUND', 'Not found', `no HubSpot contact ${objectId} in portal ${portalId}`);
    const contact = await d.runtime.store.getContact(id);
    if (contact === null) throw new HttpProblem(404, 'CONTACT_NOT_FOUND', 'Not found', 'contact not found');
    return { portalId, contact };
  };

  // the app card: v3-signed hubspot.fetch
  r.get('/hubspot/card', raw, async (req, res) => {
    await verified(req, ['v3']);
    const objectId = String(req.query.objectId ?? '');
    if (!/^\d+$/.test(objectId))
      throw new HttpProblem(400, 'INPUT_INVALID', 'Bad request', 'objectId must be a HubSpot record id', [
        { path: '/query/objectId', message: 'must be digits' },
      ]);
    const { contact } = await cardContact(req, objectId);
    res.json(await buildCard(d.runtime.store, d.ruleset(), contact, d.now()));
  });

  // send from the card: the same policy; the decision (or the refusal and why) comes back at once
  r.post('/hubspot/card/send', raw, async (req, res) => {
    const body = parseBody(cardSendBody, await verified(req, ['v3']));
    const { contact } = await cardContact(req, String(body.objectId));
    const userId = String(req.query.userId ?? 'unknown');
    const result = await d.runtime.requestMessage(contact.id, {
      type: body.messageType as never,
      ...(body.template ? { template: body.template } : {}),
      ...(body.purpose ? { purpose: body.purpose as never } : {}),
      team: 'hubspot-card',
      workflow: `agent:${userId}`,
      priority: 'normal',
    } as never);
    res.status(result.status === 'queued' ? 202 : 200).json({
      messageId: result.messageId,
      status: result.status,
      outcome: result.decision.outcome,
      channel: result.decision.plan[0]?.channel ?? null,
      sendAt: result.decision.sendAt,
      reason: summariseDecision(result.decision),
      reasons: result.decision.reasons.map((x) => ({ code: x.code, channel: x.channel ?? null, message: x.message })),
    });
    req.app.emit('work');
  });

  // OAuth install: a signed state against CSRF, the code exchanged on the v3 token endpoint
  const stateKey = createHash('sha256').update(`state:${d.clientSecret}`).digest();
  const signState = (nonce: string) => `${nonce}.${createHmac('sha256', stateKey).update(nonce).digest('base64url')}`;
  r.get('/hubspot/install', (_req, res) => {
    res.redirect(302, d.gateway.installUrl(signState(`${d.now()}-${randomBytes(8).toString('hex')}`)));
  });
  r.get('/hubspot/oauth/callback', async (req, res) => {
    const q = parseBody(z.looseObject({ code: z.string().min(1).max(500), state: z.string().min(1).max(200) }), req.query, '/query');
    const [nonce = '', mac = ''] = q.state.split('.');
    const expected = signState(nonce).split('.')[1] ?? '';
    const issued = Number(nonce.split('-')[0]);
    if (mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected)) || !(d.now() - issued < 3_600_000))
      throw new HttpProblem(400, 'OAUTH_STATE_INVALID', 'Bad request', 'the install link is not ours or has expired: start again');
    const tokens = await d.gateway.install(q.code);
    await d.service.onInstalled(tokens.portalId);
    res
      .type('text/html')
      .send(
        `<!doctype html><title>Signalbox installed</title><p>Signalbox is installed in portal ${tokens.portalId}. Contacts are syncing; you can close this page.</p>`,
      );
  });

  return r;
}

export { hubspotIdentity };
