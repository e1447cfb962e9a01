/**
 * Outbound Messages (SOAP 1.1 POSTs from a Flow or workflow rule) received safely: the request is
 * checked (POST, XML content type, the optional secret path segment compared in constant time),
 * the XML is read by our own strict reader (safe-xml.ts: no DTD, no entities, limits), then by namespace as the generated WSDL
 * defines it: `notifications` in http://soap.sforce.com/2005/09/outbound holding OrganizationId,
 * ActionId, SessionId, EnterpriseUrl, PartnerUrl and 1–100 Notification (Id + sObject). Only
 * configured organizations are accepted. Salesforce signs nothing, so the org id, the secret path
 * and TLS are what we have. The session id Salesforce may include is never returned or kept.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Problem } from '@signalbox/engine';
import { OutboundMessageError, UnknownOrganizationError } from './errors.js';
import { toId18 } from './ids.js';
import { decodeText, readXml, type XmlLimits, type XmlNode } from './safe-xml.js';

export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const MAX_NOTIFICATIONS = 100;

/** The exact acknowledgement Salesforce waits for (anything else is a failure and is re-sent). */
export const OUTBOUND_ACK =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';

/** The HTTP answer that acknowledges a message (after it was stored durably). */
export function outboundAck(): { status: 200; headers: Record<string, string>; body: string } {
  return { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: OUTBOUND_ACK };
}

export interface OutboundNotification {
  /** The notification id (04l…): the same on every re-send, so the inbox dedupes on it. */
  id: string;
  sObjectType: string;
  recordId: string;
  /** The fields selected on the outbound message, as text; nil fields are null. */
  fields: Record<string, string | null>;
}

export interface ParsedOutboundMessage {
  organizationId: string;
  actionId: string;
  /** Salesforce included a session id (we drop it: it is a live credential). */
  hadSessionId: boolean;
  enterpriseUrl: string;
  partnerUrl: string;
  notifications: OutboundNotification[];
}

export interface OutboundEndpointConfig {
  /** Organization ids (15 or 18 characters) we accept messages from. */
  allowedOrgIds: readonly string[];
  /** When set, the URL's last path segment must equal it (configured in the outbound message's endpoint URL). */
  pathSecret?: string;
  limits?: Partial<XmlLimits>;
}

/** 100 notifications of a few dozen fields fit easily; a long text field can be 32 KB. */
export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 16, maxElements: 20_000 };

const invalid = (problems: Problem[]) => new OutboundMessageError('OUTBOUND_MESSAGE_INVALID', 400, problems);

type Scope = Record<string, string>;

function scopeOf(node: XmlNode, parent: Scope): Scope {
  let scope = parent;
  for (const [k, v] of Object.entries(node)) {
    if (k === '@xmlns' || k.startsWith('@xmlns:')) {
      if (scope === parent) scope = { ...parent };
      scope[k === '@xmlns' ? '' : k.slice(7)] = String(v);
    }
  }
  return scope;
}

/** Child elements by namespace and local name. */
function children(node: XmlNode, scope: Scope, ns: string | null, local: string): Array<{ node: XmlNode | string; scope: Scope }> {
  const out: Array<{ node: XmlNode | string; scope: Scope }> = [];
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@') || k === '#text') continue;
    const colon = k.indexOf(':');
    const prefix = colon < 0 ? '' : k.slice(0, colon);
    const name = colon < 0 ? k : k.slice(colon + 1);
    if (name !== local) continue;
    for (const item of v as Array<XmlNode | string>) {
      const s = typeof item === 'string' ? scope : scopeOf(item, scope);
      if (ns === null || s[prefix] === ns) out.push({ node: item, scope: s });
    }
  }
  return out;
}

const textOf = (n: XmlNode | string): string => (typeof n === 'string' ? decodeText(n) : decodeText(String(n['#text'] ?? '')));
const isNil = (n: XmlNode | string, scope: Scope): boolean => {
  if (typeof n === 'string') return false;
  for (const [k, v] of Object.entries(n)) {
    if (!k.startsWith('@') || !k.endsWith(':nil')) continue;
    if (scope[k.slice(1, -4)] === XSI_NS && String(v) === 'true') return true;
  }
  return false;
};

/** Parses an Outbound Message body; throws OutboundMessageError (with the path of what is wrong). */
export function parseOutboundMessage(rawBody: Buffer | string, limits: Partial<XmlLimits> = {}): ParsedOutboundMessage {
  const doc = readXml(rawBody, { ...DEFAULT_XML_LIMITS, ...limits });
  const env = children(doc, {}, SOAP_ENVELOPE_NS, 'Envelope');
  if (env.length !== 1 || typeof env[0]?.node === 'string') throw invalid([{ path: '/Envelope', message: 'not a SOAP 1.1 envelope' }]);
  const body = children(env[0]?.node as XmlNode, env[0]?.scope as Scope, SOAP_ENVELOPE_NS, 'Body');
  if (body.length !== 1 || typeof body[0]?.node === 'string')
    throw invalid([{ path: '/Envelope/Body', message: 'the envelope has no Body' }]);
  const notes = children(body[0]?.node as XmlNode, body[0]?.scope as Scope, OUTBOUND_NS, 'notifications');
  if (notes.length !== 1 || typeof notes[0]?.node === 'string')
    throw invalid([{ path: '/Envelope/Body/notifications', message: `expected one notifications element in ${OUTBOUND_NS}` }]);
  const root = notes[0]?.node as XmlNode;
  const scope = notes[0]?.scope as Scope;
  const base = '/Envelope/Body/notifications';
  const problems: Problem[] = [];
  const one = (name: string, required: boolean): { node: XmlNode | string; scope: Scope } | null => {
    const list = children(root, scope, OUTBOUND_NS, name);
    if (list.length > 1) problems.push({ path: `${base}/${name}`, message: 'must appear once' });
    if (list.length === 0 && required) problems.push({ path: `${base}/${name}`, message: 'is required' });
    return list[0] ?? null;
  };
  const idOf = (v: string, prefix: string, path: string): string => {
    const id = toId18(v);
    if (id === null)
      problems.push({
        path,
        message: /^[a-zA-Z0-9]{18}$/.test(v)
          ? 'is not a Salesforce id: its last 3 characters are not the checksum of its first 15'
          : `must be a Salesforce id starting with ${prefix}`,
      });
    else if (!id.startsWith(prefix)) problems.push({ path, message: `must be a Salesforce id starting with ${prefix}` });
    return id ?? v;
  };
  const orgNode = one('OrganizationId', true);
  const actionNode = one('ActionId', true);
  const sessionNode = one('SessionId', false);
  const enterprise = one('EnterpriseUrl', false);
  const partner = one('PartnerUrl', false);
  const organizationId = orgNode ? idOf(textOf(orgNode.node), '00D', `${base}/OrganizationId`) : '';
  const actionId = actionNode ? idOf(textOf(actionNode.node), '04k', `${base}/ActionId`) : '';
  const list = children(root, scope, OUTBOUND_NS, 'Notification');
  if (list.length < 1 || list.length > MAX_NOTIFICATIONS)
    problems.push({ path: `${base}/Notification`, message: `must hold 1 to ${MAX_NOTIFICATIONS} notifications, found ${list.length}` });
  const notifications: OutboundNotification[] = [];
  list.slice(0, MAX_NOTIFICATIONS).forEach((n, i) => {
    const path = `${base}/Notification/${i}`;
    if (typeof n.node === 'string') {
      problems.push({ path, message: 'is empty' });
      return;
    }
    const idNode = children(n.node, n.scope, OUTBOUND_NS, 'Id')[0];
    const sobj = children(n.node, n.scope, OUTBOUND_NS, 'sObject')[0];
    if (idNode === undefined || sobj === undefined || typeof sobj.node === 'string') {
      problems.push({ path, message: 'needs an Id and an sObject' });
      return;
    }
    const type = Object.entries(sobj.node).find(([k]) => k.startsWith('@') && k.endsWith(':type'))?.[1];
    const sObjectType = typeof type === 'string' ? (type.split(':').pop() ?? '') : '';
    if (!/^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(sObjectType))
      problems.push({ path: `${path}/sObject`, message: 'needs an xsi:type naming the object' });
    const fields: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(sobj.node)) {
      if (k.startsWith('@') || k === '#text') continue;
      const local = k.includes(':') ? k.slice(k.indexOf(':') + 1) : k;
      if (!/^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(local)) continue;
      const item = (v as Array<XmlNode | string>)[0] as XmlNode | string;
      const s = typeof item === 'string' ? sobj.scope : scopeOf(item, sobj.scope);
      fields[local] = isNil(item, s) ? null : textOf(item);
    }
    const recordId = fields.Id ? idOf(fields.Id, '', `${path}/sObject/Id`) : '';
    if (!fields.Id) problems.push({ path: `${path}/sObject/Id`, message: 'is required' });
    notifications.push({ id: idOf(textOf(idNode.node), '04l', `${path}/Id`), sObjectType, recordId, fields });
  });
  if (problems.length > 0) throw invalid(problems);
  return {
    organizationId,
    actionId,
    hadSessionId: sessionNode !== null && !isNil(sessionNode.node, sessionNode.scope) && textOf(sessionNode.node) !== '',
    enterpriseUrl: enterprise ? textOf(enterprise.node) : '',
    partnerUrl: partner ? textOf(partner.node) : '',
    notifications,
  };
}

/** Refuses a message from an organization that is not configured (403, logged without the body). */
export function checkOrganization(msg: ParsedOutboundMessage, allowedOrgIds: readonly string[]): void {
  const allowed = new Set(allowedOrgIds.map((id) => toId18(id)).filter((id): id is string => id !== null));
  if (!allowed.has(msg.organizationId))
    throw new UnknownOrganizationError(msg.organizationId, '/Envelope/Body/notifications/OrganizationId');
}

/** The request as the app hands it over (no framework types). */
export interface OutboundRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | string;
}

/**
 * Everything that must hold before an Outbound Message is stored: method, content type, the
 * secret path segment, the XML's safety and shape, the organization. The app then stores the
 * message durably and answers `outboundAck()`.
 */
export function receiveOutboundMessage(req: OutboundRequest, cfg: OutboundEndpointConfig): ParsedOutboundMessage {
  if (req.method.toUpperCase() !== 'POST')
    throw new OutboundMessageError('METHOD_NOT_ALLOWED', 405, [{ path: '', message: 'Outbound Messages are POSTed' }]);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (!/^(text|application)\/(xml|soap\+xml)\b/.test(type))
    throw new OutboundMessageError('UNSUPPORTED_MEDIA_TYPE', 415, [{ path: '', message: `content type ${type || '(none)'} is not XML` }]);
  if (cfg.pathSecret !== undefined) {
    const segment =
      new URL(req.url, 'http://x').pathname
        .split('/')
        .filter((s) => s !== '')
        .pop() ?? '';
    let given = segment;
    try {
      given = decodeURIComponent(segment);
    } catch {
      // not percent-encoding at all (`%E0%A4%A`): compared as it came, so it is simply not the secret
    }
    const a = Buffer.from(given);
    const b = Buffer.from(cfg.pathSecret);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      throw new OutboundMessageError('OUTBOUND_SECRET_INVALID', 403, [
        { path: '', message: 'the endpoint path is not the configured one' },
      ]);
  }
  const msg = parseOutboundMessage(req.rawBody, cfg.limits);
  checkOrganization(msg, cfg.allowedOrgIds);
  return msg;
}
