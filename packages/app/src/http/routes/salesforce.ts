import type { IncomingMessage } from 'node:http';
import { type CrmRequest, outboundAck, type ParsedOutboundMessage, toId18 } from '@signalbox/connectors';
import { type CompiledRuleset, MESSAGE_TYPES, PURPOSES, SignalboxError } from '@signalbox/engine';
import type { Request } from 'express';
import { z } from 'zod';
import { agentView } from '../../agent-view/agent-view.js';
import type { CrmCalls } from '../../crm/crm-calls.js';
import { recordOfId, type SalesforceApp } from '../../crm/salesforce/salesforce-app.js';
import { SalesforceInbound } from '../../crm/salesforce/salesforce-inbound.js';
import { InputError, NotFoundError } from '../../errors.js';
import type { InboxWriter } from '../../inbox/inbox-writer.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Runtime } from '../../runtime.js';
import { agentIdempotencyKey, agentSend } from '../agent-send.js';
import { crmCall } from '../crm-call.js';
import { type FastAnswer, type FastPath, header, takeBody } from '../fast-path.js';
import { OAuthState, type UsedStates } from '../oauth-state.js';
import { pageHeaders } from '../page-headers.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';

export interface SalesforceRouteDeps {
  app: SalesforceApp;
  /** CRM calls made while answering (through the worker thread's limiters where it runs). */
  calls: CrmCalls;
  clientSecret: string;
  now: () => number;
  /** OAuth states used (good once, on every instance sharing the cache). */
  usedStates: UsedStates;
}

export const OUTBOUND_PATH = '/hooks/salesforce/outbound';
/** An Outbound Message holds at most 100 notifications; a long text field can be 32 KB. */
export const OUTBOUND_LIMIT = 4 * 1024 * 1024;

const recordId = z.string().refine((s) => toId18(s) !== null, 'must be a Salesforce record id (15 or 18 characters)');
const panelQuery = z.looseObject({ recordId });
export const panelSendBody = z.strictObject({
  recordId,
  messageType: z.enum(MESSAGE_TYPES),
  template: z.string().min(1).max(120).nullish(),
  purpose: z.enum(PURPOSES).nullish(),
  idempotencyKey: agentIdempotencyKey,
});
const callbackQuery = z.looseObject({
  code: z.string().min(1).max(1000).optional(),
  state: z.string().min(1).max(200),
  error: z.string().max(100).optional(),
  error_description: z.string().max(500).optional(),
});
const orgParam = z.string().refine((s) => toId18(s)?.startsWith('00D') === true, 'must be an Organization id (00D…)');
const USER_ID = /^005[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/;

const XML_TYPE = /^(text|application)\/(xml|soap\+xml)\b/i;
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Salesforce's side of Signalbox: Outbound Messages (durable in the one inbox before the ACK,
 * deduplicated on their notification ids), the record panel (the Named Credential's key, matched
 * to the org it names), and connecting an org (OAuth web server flow, started by an admin). What is
 * refused is logged without its body; a Salesforce failure never answers a bare 500.
 */
export function salesforceRoutes(
  d: SalesforceRouteDeps & {
    ruleset: () => CompiledRuleset;
    runtime: Runtime;
    inbox: InboxWriter;
    metrics: Metrics;
    log: Logger;
    nudge: () => void;
  },
): { routes: RouteSpec[]; fast: FastPath } {
  const inbound = new SalesforceInbound({ inbox: d.inbox, now: d.now });
  const oauthState = new OAuthState(d.clientSecret, d.now, d.usedStates, d.log);

  /** Verified (org, secret path, safe XML), stored, acknowledged. */
  const outbound = async (r: CrmRequest, path: string): Promise<FastAnswer> => {
    let msg: ParsedOutboundMessage;
    try {
      msg = (await d.app.verify(r, 'events')).body as ParsedOutboundMessage;
    } catch (err) {
      d.log.warn({ path, code: err instanceof SignalboxError ? err.code : 'ERROR' }, 'Salesforce Outbound Message refused');
      throw err;
    }
    const result = await inbound.acceptOutbound(msg);
    if (!result.duplicate) d.nudge();
    const ack = outboundAck();
    return { status: ack.status, type: 'text/xml', text: ack.body };
  };
  const requestOf = (req: Request): CrmRequest => ({
    method: req.method,
    url: req.originalUrl,
    header: (n) => req.get(n),
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  });

  /** The org a panel call comes from (its key matched), or 401. */
  const panelOrg = async (req: Request): Promise<string> => {
    const v = await d.app.verify(requestOf(req), 'panel');
    return v.account as string;
  };
  /** Our contact for the record the panel is on (a Contact, a Lead; a Case's or an Opportunity's contact). */
  const panelContact = async (orgId: string, id: string, path: string) => {
    const record = recordOfId(id);
    if (record === null)
      throw new InputError('the panel is shown on Contacts, Leads, Cases and Opportunities', [
        { path, message: 'not a Contact, Lead, Case or Opportunity id' },
      ]);
    const [contactId] = await crmCall(() => d.calls.contactsOf('salesforce', orgId, record));
    const contact = contactId === undefined ? null : await d.runtime.store.contacts.get(contactId);
    if (contact === null) throw new NotFoundError('CONTACT_NOT_FOUND', `No Signalbox contact is linked to ${record.type} ${record.id}`);
    return contact;
  };

  const routes: RouteSpec[] = [
    ...[OUTBOUND_PATH, `${OUTBOUND_PATH}/:secret`].map(
      (path): RouteSpec => ({
        method: 'post',
        path,
        summary:
          'Outbound Messages (SOAP) from a Flow or workflow rule: org, secret path and XML checked, durable before the ACK; a re-sent message is acknowledged and not applied again',
        tags: ['salesforce'],
        security: 'salesforceOrg',
        rawBody: { limit: OUTBOUND_LIMIT },
        responses: { 200: 'the SOAP acknowledgement (<Ack>true</Ack>)' },
        produces: 'text/xml',
        handler: async (req, res) => {
          const r = (await outbound(requestOf(req), path)) as { status: number; type: string; text: string };
          res.status(r.status).type(`${r.type}; charset=utf-8`).send(r.text);
        },
      }),
    ),
    {
      method: 'get',
      path: '/salesforce/panel',
      summary: "The record panel's agent view (Named Credential key + org id): story, consent, journeys, next sends, decisions, budget",
      tags: ['salesforce'],
      security: 'salesforcePanelKey',
      query: panelQuery,
      headers: { 'X-Signalbox-Org-Id': 'the calling org (UserInfo.getOrganizationId())' },
      responses: { 200: 'the agent view', 404: 'CONTACT_NOT_FOUND: no contact linked to this record' },
      handler: async (req, res) => {
        const orgId = await panelOrg(req);
        const q = parseBody(panelQuery, req.query, '/query');
        const contact = await panelContact(orgId, q.recordId, '/query/recordId');
        res.json(await agentView(d.runtime.store, d.ruleset(), contact, d.now()));
      },
    },
    {
      method: 'post',
      path: '/salesforce/panel/send',
      summary: 'Send from the record panel through the same policy: the decision, or the refusal and why, at once',
      tags: ['salesforce'],
      security: 'salesforcePanelKey',
      body: panelSendBody,
      headers: { 'X-Signalbox-User-Id': 'the agent (UserInfo.getUserId()), recorded as who asked' },
      responses: {
        200: 'refused or held: {messageId, status, outcome, channel, sendAt, reason, reasons}',
        202: 'queued (now or later)',
        409: 'IDEMPOTENCY_KEY_REUSED: the idempotencyKey made another send',
      },
      handler: async (req, res) => {
        const orgId = await panelOrg(req);
        const body = parseBody(panelSendBody, req.body);
        const contact = await panelContact(orgId, body.recordId, '/recordId');
        const user = req.get('x-signalbox-user-id');
        const agent = user !== undefined && USER_ID.test(user) ? user : 'unknown';
        const sent = await agentSend(d, contact.id, body, { team: 'salesforce-panel', agent, account: orgId });
        if (sent.replayed) res.set('idempotent-replayed', 'true');
        res.status(sent.status).json(sent.body);
      },
    },
    {
      method: 'post',
      path: '/api/v1/salesforce/connect',
      summary: "Starts connecting an org: the link to Salesforce's authorization page (good for an hour), for an admin to open",
      tags: ['salesforce'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{authorizeUrl}' },
      handler: (_req, res) => {
        res.json({ authorizeUrl: d.app.gateway.authorizeUrl(oauthState.issue()) });
      },
    },
    {
      method: 'get',
      path: '/salesforce/oauth/callback',
      summary: "The OAuth callback: the state checked, the code exchanged, the org's sync begun; shows the org's panel key",
      tags: ['salesforce'],
      security: 'none',
      query: callbackQuery,
      responses: { 200: 'an HTML page with the org and its panel key' },
      produces: 'text/html',
      handler: async (req, res) => {
        const q = parseBody(callbackQuery, req.query, '/query');
        const orgId = await oauthState.consumeFor(q.state, () => {
          if (q.error !== undefined || q.code === undefined)
            throw new InputError(
              `Salesforce did not authorise the connection: ${q.error_description ?? q.error ?? 'no code'}`,
              [{ path: '/query/code', message: q.error ?? 'required' }],
              'OAUTH_DENIED',
            );
          const code = q.code;
          return crmCall(() => d.calls.connect('salesforce', code));
        });
        await d.app.refreshOrgs();
        const key = (await d.app.tokens.panelKey(orgId)) ?? '';
        d.nudge();
        pageHeaders(res)
          .type('text/html')
          .set('cache-control', 'no-store')
          .send(
            `<!doctype html><title>Signalbox connected</title><p>Signalbox is connected to Salesforce org ${escapeHtml(orgId)}. Contacts and leads are syncing.</p>` +
              `<p>The record panel's key for this org (Setup → Named Credentials → External Credentials → Signalbox → Principals → SignalboxOrg → PanelKey):</p><pre>${escapeHtml(key)}</pre>` +
              '<p>Keep it secret. An admin can issue a new one with POST /api/v1/salesforce/orgs/{orgId}/panel-key.</p>',
          );
      },
    },
    {
      method: 'post',
      path: '/api/v1/salesforce/orgs/:orgId/panel-key',
      summary: 'Issues a new panel key for a connected org (the old one stops working at once); shown in this answer only',
      tags: ['salesforce'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 200: '{orgId, panelKey}', 404: 'ORG_NOT_CONNECTED' },
      handler: async (req, res) => {
        const orgId = toId18(parseBody(orgParam, req.params.orgId, '/params/orgId')) as string;
        const panelKey = await d.app.tokens.rotatePanelKey(orgId);
        if (panelKey === null)
          throw new NotFoundError('ORG_NOT_CONNECTED', `Salesforce org ${orgId} is not connected (or needs connecting again)`);
        res.set('cache-control', 'no-store').json({ orgId, panelKey });
      },
    },
  ];

  const fast: FastPath = {
    // the hot path: an Outbound Message checked and made durable without Express
    take(req: IncomingMessage, res) {
      const url = req.url ?? '';
      if (
        req.method !== 'POST' ||
        !(url === OUTBOUND_PATH || (url.startsWith(`${OUTBOUND_PATH}/`) && !/[?/]/.test(url.slice(OUTBOUND_PATH.length + 1))))
      )
        return false;
      const length = Number(header(req, 'content-length'));
      const encoding = header(req, 'content-encoding');
      if (
        !Number.isSafeInteger(length) ||
        length > OUTBOUND_LIMIT ||
        !XML_TYPE.test(header(req, 'content-type') ?? '') ||
        (encoding !== undefined && encoding.toLowerCase() !== 'identity')
      )
        return false;
      const route = url === OUTBOUND_PATH ? OUTBOUND_PATH : `${OUTBOUND_PATH}/:secret`;
      takeBody(req, res, { limit: OUTBOUND_LIMIT, route, metrics: d.metrics, log: d.log }, (raw) =>
        outbound({ method: 'POST', url, header: (n) => header(req, n.toLowerCase()), rawBody: raw }, route),
      );
      return true;
    },
  };
  return { routes, fast };
}
