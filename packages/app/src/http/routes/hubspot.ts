import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PortalNotAllowedError, verifyHubspotSignature } from '@signalbox/connectors';
import { type CompiledRuleset, MESSAGE_TYPES, PURPOSES } from '@signalbox/engine';
import type { Request } from 'express';
import { z } from 'zod';
import { agentView } from '../../agent-view/agent-view.js';
import type { CrmCalls } from '../../crm/crm-calls.js';
import type { HubspotApp } from '../../crm/hubspot/hubspot-app.js';
import { HubspotInbound } from '../../crm/hubspot/hubspot-inbound.js';
import { AuthError, InputError, NotFoundError } from '../../errors.js';
import type { InboxWriter } from '../../inbox/inbox-writer.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Runtime } from '../../runtime.js';
import type { ReplayGuard } from '../../security/replay-guard.js';
import { agentIdempotencyKey, agentSend } from '../agent-send.js';
import { crmCall } from '../crm-call.js';
import { type FastPath, header, takeBody } from '../fast-path.js';
import { parseJsonBody, parseJsonRecords, utf8Text } from '../json-body.js';
import { OAuthState, type UsedStates } from '../oauth-state.js';
import { pageHeaders } from '../page-headers.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';

export interface HubspotRouteDeps {
  app: HubspotApp;
  ruleset: () => CompiledRuleset;
  /** CRM calls made while answering (through the worker thread's limiters where it runs). */
  calls: CrmCalls;
  clientSecret: string;
  /** The public base URL HubSpot calls (signatures cover the full URL); else taken from the request. */
  publicUrl?: string | undefined;
  now: () => number;
  /** OAuth states used (good once, on every instance sharing the cache). */
  usedStates: UsedStates;
}

const messageType = z.enum(MESSAGE_TYPES);
const purpose = z.enum(PURPOSES);

export const customActionBody = z.looseObject({
  callbackId: z.string().min(1).max(200),
  origin: z.looseObject({ portalId: z.number().int().positive() }),
  object: z.looseObject({ objectId: z.union([z.number().int(), z.string().min(1)]), objectType: z.string().min(1).max(40) }),
  inputFields: z.looseObject({ messageType, template: z.string().min(1).max(120).optional(), purpose: purpose.optional() }),
});

export const cardSendBody = z.strictObject({
  objectId: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  messageType,
  template: z.string().min(1).max(120).optional(),
  purpose: purpose.optional(),
  idempotencyKey: agentIdempotencyKey,
});

/** A portal id in a query string: its digits, as HubSpot writes it (`1e3` is not portal 1000). */
const portalIdText = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'a HubSpot portal id (digits)')
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER));

const hubspotUserId = z.string().regex(/^\d{1,20}$/, 'a HubSpot user id (digits)');

const workflowQuery = z.strictObject({
  portalId: portalIdText,
  event: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  objectType: z.enum(['contact', 'ticket', 'deal', 'invoice']).default('contact'),
});
const workflowRecord = z.looseObject({
  objectId: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
  id: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
  vid: z.number().int().optional(),
});
const cardQuery = z.looseObject({
  objectId: z.string().regex(/^\d+$/, 'must be a HubSpot record id'),
  portalId: portalIdText,
});
const callbackQuery = z.looseObject({ code: z.string().min(1).max(500), state: z.string().min(1).max(200) });

export const WEBHOOK_PATH = '/hooks/hubspot/webhooks';

/**
 * HubSpot's side of Signalbox: Webhooks API deliveries (durable before the 200, through the same
 * group-committed inbox as the API's events), the custom workflow action, the "Send a webhook"
 * workflow action, the app card (`hubspot.fetch`) and the OAuth install. Every request is verified
 * against the app's client secret before anything in it is trusted; a forged, stale or replayed one
 * is 401 and logged without its body. A CRM failure never answers 5xx (HubSpot would retry it).
 */
export function hubspotRoutes(
  d: HubspotRouteDeps & {
    runtime: Runtime;
    inbox: InboxWriter;
    replay: ReplayGuard;
    metrics: Metrics;
    log: Logger;
    nudge: () => void;
    bodyLimit: number;
  },
): { routes: RouteSpec[]; fast: FastPath } {
  const inbound = new HubspotInbound({ inbox: d.inbox, now: d.now });
  const fullUrl = (protocol: string, host: string | undefined, originalUrl: string) =>
    `${d.publicUrl ?? `${protocol}://${host}`}${originalUrl}`;

  /** Verifies a request's signature (the versions `accept`s); returns the one that matched and the signature. */
  const check = (
    r: { method: string; url: string; raw: Buffer; header: (n: string) => string | undefined; path: string },
    accept: Array<'v1' | 'v2' | 'v3'>,
  ) => {
    const c = verifyHubspotSignature(
      d.clientSecret,
      { method: r.method, url: r.url, rawBody: r.raw, header: r.header },
      Date.now(),
      accept,
    );
    if (!c.ok) {
      d.log.warn({ path: r.path, reason: c.reason }, 'HubSpot request refused');
      throw new AuthError(401, 'SIGNATURE_INVALID', `HubSpot signature ${c.reason}`);
    }
    return c.version === 'v3'
      ? `v3:${r.header('x-hubspot-signature-v3')}`
      : `${c.version}:${createHash('sha256').update(r.raw).digest('base64url')}`;
  };
  const replayed = (path: string): never => {
    d.log.warn({ path }, 'HubSpot request replayed');
    throw new AuthError(401, 'SIGNATURE_REPLAYED', 'HubSpot signature already used');
  };
  /** Verified, and (when timestamped) good once; the body parsed when there is one. */
  const verified = async (req: Request, accept: Array<'v1' | 'v2' | 'v3'>): Promise<unknown> => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = check(
      { method: req.method, url: fullUrl(req.protocol, req.get('host'), req.originalUrl), raw, header: (n) => req.get(n), path: req.path },
      accept,
    );
    if (signature.startsWith('v3:') && !(await d.replay.firstUse('hubspot', signature, Date.now()))) replayed(req.path);
    return raw.length === 0 ? undefined : parseJsonBody(raw, false);
  };

  const delivery = async (raw: Buffer, signature: string, path: string) => {
    const text = utf8Text(raw);
    const result = await inbound.acceptDelivery(text, parseJsonRecords(raw, text), signature);
    if (result === null) replayed(path);
    d.nudge();
    return result as { received: number };
  };

  /** A portal left out of HUBSPOT_PORTAL_IDS is refused at the door (its CRM calls fail as uninstalled too). */
  const allowedPortal = (portalId: number) => {
    if (!d.app.gateway.allows(portalId)) throw new PortalNotAllowedError(portalId);
  };
  const cardContact = async (portalId: number, objectId: string) => {
    allowedPortal(portalId);
    const id = await crmCall(() => d.calls.contactFor('hubspot', String(portalId), { type: 'contact', id: objectId }));
    if (id === null) throw new NotFoundError('CONTACT_NOT_FOUND', `no HubSpot contact ${objectId} in portal ${portalId}`);
    const contact = await d.runtime.store.contacts.get(id);
    if (contact === null) throw new NotFoundError('CONTACT_NOT_FOUND', 'contact not found');
    return contact;
  };

  // OAuth install: a signed state against CSRF, the code exchanged on the v3 token endpoint
  const oauthState = new OAuthState(d.clientSecret, d.now, d.usedStates, d.log);

  const routes: RouteSpec[] = [
    {
      method: 'post',
      path: WEBHOOK_PATH,
      summary: 'Webhooks API deliveries (v1 or v3 signed): durable before the 200; mapped, resolved and deduplicated by the worker',
      tags: ['hubspot'],
      security: 'hubspotSignature',
      rawBody: true,
      responses: { 200: '{received}' },
      handler: async (req, res) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = check(
          {
            method: req.method,
            url: fullUrl(req.protocol, req.get('host'), req.originalUrl),
            raw,
            header: (n) => req.get(n),
            path: req.path,
          },
          ['v1', 'v3'],
        );
        res.json(await delivery(raw, signature, req.path));
      },
    },
    {
      method: 'post',
      path: '/hooks/hubspot/actions/send',
      summary:
        'The custom workflow action "Send via Signalbox" (v2 signed): FAIL_CONTINUE with the reason, or BLOCK until the message settles',
      tags: ['hubspot'],
      security: 'hubspotSignature',
      rawBody: true,
      body: customActionBody,
      responses: { 200: '{outputFields}' },
      handler: async (req, res) => {
        const body = parseBody(customActionBody, await verified(req, ['v2', 'v3']));
        res.json(
          await d.app.actions.send(
            {
              callbackId: body.callbackId,
              portalId: body.origin.portalId,
              objectType: body.object.objectType,
              objectId: String(body.object.objectId),
              messageType: body.inputFields.messageType,
              template: body.inputFields.template,
              purpose: body.inputFields.purpose,
            },
            d.calls,
          ),
        );
        d.nudge();
      },
    },
    {
      method: 'post',
      path: '/hooks/hubspot/workflow-webhook',
      summary: 'The "Send a webhook" workflow action: the enrolled record becomes the event named in the URL',
      tags: ['hubspot'],
      security: 'hubspotSignature',
      rawBody: true,
      query: workflowQuery,
      responses: { 200: '{accepted, duplicates}' },
      handler: async (req, res) => {
        const body = await verified(req, ['v2', 'v3']);
        const q = parseBody(workflowQuery, req.query, '/query');
        const record = parseBody(workflowRecord, body ?? {});
        allowedPortal(q.portalId);
        const objectId = record.objectId ?? record.id ?? record.vid;
        if (objectId === undefined) throw new InputError('the record has no objectId', [{ path: '/objectId', message: 'required' }]);
        const result = await inbound.acceptWorkflow(
          { portalId: q.portalId, objectType: q.objectType, objectId: String(objectId), event: q.event },
          req.body as Buffer,
        );
        d.nudge();
        res.json(result);
      },
    },
    {
      method: 'get',
      path: '/hubspot/card',
      summary: "The app card's agent view (v3-signed hubspot.fetch): story, consent, journeys, next sends, decisions, budget, summary",
      tags: ['hubspot'],
      security: 'hubspotSignature',
      rawBody: true,
      query: cardQuery,
      responses: { 200: 'the agent view' },
      handler: async (req, res) => {
        await verified(req, ['v3']);
        const q = parseBody(cardQuery, req.query, '/query');
        const contact = await cardContact(q.portalId, q.objectId);
        res.json(await agentView(d.runtime.store, d.ruleset(), contact, d.now()));
      },
    },
    {
      method: 'post',
      path: '/hubspot/card/send',
      summary: 'Send from the card through the same policy: the decision, or the refusal and why, at once',
      tags: ['hubspot'],
      security: 'hubspotSignature',
      rawBody: true,
      body: cardSendBody,
      responses: {
        200: 'refused or held: {messageId, status, outcome, channel, sendAt, reason, reasons}',
        202: 'queued (now or later)',
        409: 'IDEMPOTENCY_KEY_REUSED: the idempotencyKey made another send',
      },
      handler: async (req, res) => {
        const body = parseBody(cardSendBody, await verified(req, ['v3']));
        const portalId = parseBody(portalIdText, req.query.portalId, '/query/portalId');
        const contact = await cardContact(portalId, String(body.objectId));
        // HubSpot's user id (digits), once: a list or an object is not one
        const userId = req.query.userId === undefined ? 'unknown' : parseBody(hubspotUserId, req.query.userId, '/query/userId');
        const sent = await agentSend(d, contact.id, body, { team: 'hubspot-card', agent: userId, account: String(portalId) });
        if (sent.replayed) res.set('idempotent-replayed', 'true');
        res.status(sent.status).json(sent.body);
      },
    },
    {
      method: 'get',
      path: '/hubspot/install',
      summary:
        "Starts the OAuth install (redirects to HubSpot with a signed state); an admin's: with an admin key, or from a browser signed into the console",
      tags: ['hubspot'],
      // whoever starts an install connects a portal whose workflows then send (and spend) through
      // us: an admin, as connecting Salesforce is
      security: 'apiKey',
      roles: ['admin'],
      responses: { 302: 'to HubSpot', 401: 'no admin key or console session', 403: 'not an admin' },
      handler: (_req, res) => {
        res.redirect(302, d.app.gateway.installUrl(oauthState.issue()));
      },
    },
    {
      method: 'get',
      path: '/hubspot/oauth/callback',
      summary: "The OAuth callback: the state checked, the code exchanged, the portal's properties created and its sync begun",
      tags: ['hubspot'],
      security: 'none',
      query: callbackQuery,
      responses: { 200: 'an HTML page saying the app is installed' },
      produces: 'text/html',
      handler: async (req, res) => {
        const q = parseBody(callbackQuery, req.query, '/query');
        const portalId = await oauthState.consumeFor(q.state, () => crmCall(() => d.calls.connect('hubspot', q.code)));
        d.nudge();
        pageHeaders(res)
          .type('text/html')
          .send(
            `<!doctype html><title>Signalbox installed</title><p>Signalbox is installed in portal ${portalId}. Contacts are syncing; you can close this page.</p>`,
          );
      },
    },
  ];

  const fast: FastPath = {
    // the hot path: a v3-signed delivery is verified, checked and made durable without Express
    take(req: IncomingMessage, res) {
      if (req.method !== 'POST' || req.url !== WEBHOOK_PATH || header(req, 'x-hubspot-signature-v3') === undefined) return false;
      const length = Number(header(req, 'content-length'));
      const encoding = header(req, 'content-encoding');
      if (!Number.isSafeInteger(length) || length > d.bodyLimit || (encoding !== undefined && encoding.toLowerCase() !== 'identity'))
        return false;
      takeBody(req, res, { limit: d.bodyLimit, route: WEBHOOK_PATH, metrics: d.metrics, log: d.log }, async (raw) => {
        const url = fullUrl('http', header(req, 'host'), req.url ?? WEBHOOK_PATH);
        const signature = check({ method: 'POST', url, raw, header: (n) => header(req, n), path: WEBHOOK_PATH }, ['v1', 'v3']);
        return { status: 200, body: await delivery(raw, signature, WEBHOOK_PATH) };
      });
      return true;
    },
  };
  return { routes, fast };
}
