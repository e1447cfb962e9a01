/**
 * Sends Outbound Messages as Salesforce does: a SOAP 1.1 `notifications` envelope (the element
 * order of the generated WSDL: OrganizationId, ActionId, SessionId, EnterpriseUrl, PartnerUrl,
 * 1–100 Notification), POSTed with `SOAPAction: ""`, and re-sent with exponential back-off until
 * the endpoint answers 200 with `<Ack>true</Ack>`.
 */
import { XMLParser } from 'fast-xml-parser';

export interface OutboundNotification {
  /** The notification id (prefix `04l`); a re-send keeps it, so receivers dedupe on it. */
  id: string;
  /** The record's fields as selected on the outbound message; `Id` first. */
  fields: Record<string, string | number | boolean | null>;
}

export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  sObjectType: string;
  notifications: OutboundNotification[];
  sessionId?: string | null;
  instanceUrl?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The envelope, byte for byte what Salesforce would POST (fields after Id in alphabetical order, as in the WSDL). */
export function outboundEnvelope(m: OutboundMessage): string {
  const base = m.instanceUrl ?? 'https://acme.my.salesforce.com';
  const org15 = m.organizationId.slice(0, 15);
  const notes = m.notifications
    .map((n) => {
      const names = Object.keys(n.fields)
        .filter((k) => k !== 'Id')
        .sort();
      const cells = ['Id', ...names]
        .filter((k) => k in n.fields)
        .map((k) => {
          const v = n.fields[k];
          return v === null || v === undefined ? `<sf:${k} xsi:nil="true"/>` : `<sf:${k}>${esc(String(v))}</sf:${k}>`;
        })
        .join('');
      return `<Notification><Id>${n.id}</Id><sObject xsi:type="sf:${m.sObjectType}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${cells}</sObject></Notification>`;
    })
    .join('');
  const session = m.sessionId ? `<SessionId>${esc(m.sessionId)}</SessionId>` : '<SessionId xsi:nil="true"/>';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${m.organizationId}</OrganizationId><ActionId>${m.actionId}</ActionId>${session}` +
    `<EnterpriseUrl>${esc(`${base}/services/Soap/c/60.0/${org15}`)}</EnterpriseUrl><PartnerUrl>${esc(`${base}/services/Soap/u/60.0/${org15}`)}</PartnerUrl>` +
    `${notes}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

/** True when the reply is 200 and its body is a `notificationsResponse` with `Ack` true. */
export function isAck(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    const doc = new XMLParser({ removeNSPrefix: true, processEntities: false }).parse(body) as Record<string, unknown>;
    const ack = (doc.Envelope as { Body?: { notificationsResponse?: { Ack?: unknown } } } | undefined)?.Body?.notificationsResponse?.Ack;
    return ack === true || ack === 'true';
  } catch {
    return false;
  }
}

export interface DeliveryAttempt {
  status: number;
  acked: boolean;
  at: number;
}

/**
 * Salesforce's delivery loop: POST, and on anything but an ACK wait and POST again, the wait
 * doubling up to `maxDelayMs` (Salesforce: up to 2 h between tries, dropped after 24 h).
 */
export async function deliverOutboundMessage(
  url: string,
  m: OutboundMessage,
  opts: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number } = {},
): Promise<{ acked: boolean; attempts: DeliveryAttempt[] }> {
  const body = outboundEnvelope(m);
  const attempts: DeliveryAttempt[] = [];
  let delay = opts.initialDelayMs ?? 50;
  for (let i = 0; i < (opts.maxAttempts ?? 10); i++) {
    let status = 0;
    let text = '';
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body });
      status = res.status;
      text = await res.text();
    } catch {
      status = 0;
    }
    const acked = isAck(status, text);
    attempts.push({ status, acked, at: Date.now() });
    if (acked) return { acked, attempts };
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, opts.maxDelayMs ?? 7_200_000);
  }
  return { acked: false, attempts };
}
