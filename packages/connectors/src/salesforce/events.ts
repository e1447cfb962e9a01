/**
 * Change Data Capture events and Outbound Message notifications → our CrmEvents, through the
 * ruleset's `eventMap.salesforce` (equality on dot paths). The raw event we match on has the same
 * shape for both sources:
 *
 *   { origin: 'cdc' | 'outbound', orgId, entityName, changeType, recordId, changedFields,
 *     fields: { Status: 'Closed', … }, actionId?, ChangeEventHeader?, …the fields again at the top }
 *
 * so `{"entityName":"Case","changeType":"CREATE"}`, `{"entityName":"Case","fields.Status":"Closed"}`
 * and `{"entityName":"Opportunity","fields.StageName":"Closed Won"}` are expressible; the fields
 * repeated at the top and `ChangeEventHeader` keep the engine's default entries
 * (`{"ChangeEventHeader.entityName":"Case","Status":"Closed"}`) working. A CDC UPDATE carries only
 * the changed fields, so `fields.Status = Closed` matches exactly when the status became Closed.
 * An Outbound Message carries the selected fields as they are at send time, and `changeType`
 * `NOTIFY`; match on `actionId` to tell its workflows apart.
 *
 * Event ids are stable across redeliveries: the notification id for an Outbound Message; the
 * transaction key, sequence number and record for CDC (the same change replayed, or seen on two
 * channels, has the same id).
 */
import { type CrmEvent, mapEventType, type Ruleset } from '@signalbox/engine';
import { toId18 } from './ids.js';
import type { ParsedOutboundMessage } from './outbound-message.js';
import { isoInstant } from './records.js';

export interface ChangeEventHeader {
  entityName: string;
  recordIds: string[];
  changeType: string;
  changedFields?: string[];
  changeOrigin?: string;
  transactionKey?: string;
  sequenceNumber?: number;
  commitTimestamp?: number;
  commitNumber?: number;
  commitUser?: string;
  nulledFields?: string[];
  diffFields?: string[];
}

/** What a CometD subscriber receives on a `/data/…ChangeEvent` channel. */
export interface CdcMessage {
  schema?: string;
  payload: Record<string, unknown> & { ChangeEventHeader: ChangeEventHeader };
  event: { replayId: number };
}

export interface SalesforceRawEvent extends Record<string, unknown> {
  origin: 'cdc' | 'outbound';
  orgId: string;
  entityName: string;
  changeType: string;
  recordId: string;
  changedFields: string[];
  fields: Record<string, unknown>;
}

export interface NormalisedSalesforceEvents {
  events: CrmEvent[];
  /** Raw events no eventMap entry maps (counted, kept out of journeys). */
  unmapped: SalesforceRawEvent[];
  /** Gap events (GAP_CREATE…, GAP_OVERFLOW) carry no field values: re-read these records. */
  gaps: Array<{ entityName: string; recordId: string }>;
}

/** `client=<ours>` in changeOrigin: our own write coming back, not news. */
export function isEcho(header: Pick<ChangeEventHeader, 'changeOrigin'>, clientId: string): boolean {
  const m = /;client=([^;,\s]+)/.exec(header.changeOrigin ?? '');
  return m !== null && m[1] === clientId;
}

function push(
  out: NormalisedSalesforceEvents,
  eventMap: Ruleset['eventMap'],
  raw: SalesforceRawEvent,
  id: string,
  occurredAt: string,
  extra: Record<string, unknown>,
): void {
  const type = mapEventType(eventMap, 'salesforce', raw);
  if (type === null) {
    out.unmapped.push(raw);
    return;
  }
  out.events.push({
    id,
    source: 'salesforce',
    type,
    object: { type: `salesforce.${raw.entityName}`, id: `${raw.orgId}:${raw.recordId}` },
    occurredAt,
    data: {
      orgId: raw.orgId,
      entityName: raw.entityName,
      recordId: raw.recordId,
      changeType: raw.changeType,
      changedFields: raw.changedFields,
      fields: raw.fields,
      ...extra,
    },
  });
}

/** One CDC message → one CrmEvent per record it covers (a change can cover several). */
export function normaliseChangeEvent(
  orgId: string,
  channel: string,
  message: CdcMessage,
  eventMap: Ruleset['eventMap'],
): NormalisedSalesforceEvents {
  const out: NormalisedSalesforceEvents = { events: [], unmapped: [], gaps: [] };
  const { ChangeEventHeader: header, ...fields } = message.payload;
  const occurredAt = new Date(
    typeof header.commitTimestamp === 'number' ? header.commitTimestamp : Date.parse(String(fields.LastModifiedDate ?? '')),
  ).toISOString();
  for (const rid of header.recordIds) {
    // wildcard ids (a type conversion, `001*`) name no record we can act on
    const recordId = toId18(rid);
    if (recordId === null) continue;
    if (header.changeType.startsWith('GAP_')) {
      out.gaps.push({ entityName: header.entityName, recordId });
      continue;
    }
    const raw: SalesforceRawEvent = {
      ...fields,
      ChangeEventHeader: header,
      origin: 'cdc',
      orgId,
      entityName: header.entityName,
      changeType: header.changeType,
      recordId,
      changedFields: header.changedFields ?? [],
      fields,
    };
    const key =
      header.transactionKey !== undefined
        ? `${header.transactionKey}:${header.sequenceNumber ?? 0}`
        : `${channel}:${message.event.replayId}`;
    push(out, eventMap, raw, `salesforce:${orgId}:cdc:${key}:${recordId}`, occurredAt, { replayId: message.event.replayId, channel });
  }
  return out;
}

/** An Outbound Message → one CrmEvent per notification (occurredAt: LastModifiedDate when selected). */
export function normaliseOutboundMessage(
  msg: ParsedOutboundMessage,
  eventMap: Ruleset['eventMap'],
  receivedAt: string,
): NormalisedSalesforceEvents {
  const out: NormalisedSalesforceEvents = { events: [], unmapped: [], gaps: [] };
  for (const n of msg.notifications) {
    const raw: SalesforceRawEvent = {
      ...n.fields,
      origin: 'outbound',
      orgId: msg.organizationId,
      entityName: n.sObjectType,
      changeType: 'NOTIFY',
      recordId: n.recordId,
      changedFields: [],
      fields: n.fields,
      actionId: msg.actionId,
    };
    const at = isoInstant(n.fields.LastModifiedDate ?? n.fields.SystemModstamp) ?? receivedAt;
    push(out, eventMap, raw, `salesforce:${msg.organizationId}:om:${n.id}`, at, { actionId: msg.actionId, notificationId: n.id });
  }
  return out;
}
