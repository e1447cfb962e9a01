import type { Ruleset } from '@signalbox/engine';
import type {
  ChangesPage,
  CrmConnector,
  CrmInboxItem,
  CrmLimits,
  CrmLogOutcome,
  CrmMessageLog,
  CrmPerson,
  CrmPersonFields,
  CrmRecordEvent,
  CrmRecordRef,
  CrmRequest,
  CrmRequestKind,
  PreparedCrmItem,
  SyncPage,
  VerifiedRequest,
} from '../crm-port.js';
import { type BulkCursor, BulkQuery } from './bulk-query.js';
import type { ModstampCursor, SalesforceCrm, SoqlSyncCursor } from './crm.js';
import { OrgDisabledError, SalesforceApiError, SalesforceLimitError } from './errors.js';
import { type CdcMessage, type NormalisedSalesforceEvents, normaliseChangeEvent, normaliseOutboundMessage } from './events.js';
import type { SalesforceGateway } from './gateway.js';
import { toId18 } from './ids.js';
import { type ParsedOutboundMessage, receiveOutboundMessage } from './outbound-message.js';
import { verifyPanelRequest } from './panel-auth.js';
import { consentFromFlags, identitiesOf, type PersonType, personFields, profileOf, type SalesforcePerson, toPerson } from './records.js';
import { SalesforceWriteBack } from './write-back.js';

/**
 * Salesforce's inbox items: an Outbound Message (split into one `salesforce.notification` each,
 * keyed by its notification id: a message Salesforce sends again is applied once), a notification,
 * and a Change Data Capture event as the subscriber received it.
 */
export const SALESFORCE_OUTBOUND = 'salesforce.outbound';
export const SALESFORCE_NOTIFICATION = 'salesforce.notification';
export const SALESFORCE_CDC = 'salesforce.cdc';

/** A CDC event as stored (the subscriber's delivery). */
export interface StoredChangeEvent {
  orgId: string;
  channel: string;
  message: CdcMessage;
}

const PEOPLE: readonly PersonType[] = ['Contact', 'Lead'];

/** Where the initial sync of an org stands: which person type, and by SOQL pages or a Bulk API 2.0 job. */
type SyncCursor =
  | { type: PersonType; mode: 'soql'; soql: SoqlSyncCursor | null }
  | { type: PersonType; mode: 'bulk'; bulk: BulkCursor; complete: boolean };

/** Where the incremental sync stands: each person type's (SystemModstamp, Id), and the type being swept. */
type SweepCursor = { current: PersonType; at: Record<PersonType, ModstampCursor> };

/** A sweep cursor from a stored one, or from an instant (ISO or epoch ms) to start at. */
function sweepCursor(cursor: string): SweepCursor {
  if (cursor.startsWith('{')) return JSON.parse(cursor) as SweepCursor;
  const ms = /^\d+$/.test(cursor) ? Number(cursor) : Date.parse(cursor);
  const since = new Date(Number.isFinite(ms) ? ms : 0).toISOString();
  return { current: 'Contact', at: { Contact: { since, lastId: null }, Lead: { since, lastId: null } } };
}

export interface SalesforceConnectorOptions {
  crm: SalesforceCrm;
  gateway: SalesforceGateway;
  /** Organizations whose Outbound Messages are accepted (the connected orgs, and any configured). */
  allowedOrgIds: () => readonly string[];
  /** The secret path segment of the Outbound Message endpoint, if one is configured. */
  outboundPathSecret?: string | undefined;
  /** The key issued to an org for its panel's Named Credential (null: not connected). */
  panelKeyOf: (orgId: string) => Promise<string | null>;
  /** Above this many Contacts (or Leads), the initial sync reads through a Bulk API 2.0 query job. */
  bulkThreshold?: number;
  /** Rows per Bulk result page. */
  bulkPageSize?: number;
}

/** Salesforce as a CRM of Signalbox's: every call through jsforce 3.10.16 and the org's gateway. */
export class SalesforceConnector implements CrmConnector {
  readonly crm = 'salesforce' as const;
  private readonly bulk: BulkQuery;
  private readonly writeBack: SalesforceWriteBack;

  constructor(private readonly o: SalesforceConnectorOptions) {
    this.bulk = new BulkQuery(o.gateway);
    this.writeBack = new SalesforceWriteBack(o.gateway);
  }

  async verify(req: CrmRequest, kind: CrmRequestKind, _now: number): Promise<VerifiedRequest> {
    if (kind === 'panel') {
      const account = await verifyPanelRequest({ headers: headersOf(req) }, this.o.panelKeyOf);
      return { account, replayKey: null };
    }
    // Outbound Messages carry no signature: the organization (checked against the connected
    // ones), the secret path and the XML's safety are what is checked
    const msg = receiveOutboundMessage(
      { method: req.method, url: req.url, headers: headersOf(req), rawBody: req.rawBody },
      { allowedOrgIds: [...this.o.allowedOrgIds()], ...(this.o.outboundPathSecret ? { pathSecret: this.o.outboundPathSecret } : {}) },
    );
    return { account: msg.organizationId, replayKey: null, body: msg };
  }

  identityOf(account: string, ref: CrmRecordRef): string {
    return `${account}:${toId18(ref.id) ?? ref.id}`;
  }

  prepare(item: CrmInboxItem, eventMap: Ruleset['eventMap']): PreparedCrmItem {
    if (item.type === SALESFORCE_OUTBOUND) {
      const msg = item.payload as ParsedOutboundMessage;
      return {
        kind: 'split',
        items: msg.notifications.map((n) => ({
          type: SALESFORCE_NOTIFICATION,
          key: `om:${msg.organizationId}:${n.id}`,
          payload: { ...msg, notifications: [n] },
          lane: `salesforce:${msg.organizationId}:${n.recordId}`,
        })),
      };
    }
    let normalised: NormalisedSalesforceEvents;
    if (item.type === SALESFORCE_NOTIFICATION) {
      const msg = item.payload as ParsedOutboundMessage & { receivedAt?: string };
      normalised = normaliseOutboundMessage(msg, eventMap, msg.receivedAt ?? new Date(0).toISOString());
    } else if (item.type === SALESFORCE_CDC) {
      const c = item.payload as StoredChangeEvent;
      normalised = normaliseChangeEvent(c.orgId, c.channel, c.message, eventMap);
    } else return { kind: 'events', events: [], ignored: `unknown Salesforce inbox item "${item.type}"`, reread: [] };
    const events: CrmRecordEvent[] = normalised.events.map((e) => {
      const [account = '', recordId = ''] = (e.object?.id ?? '').split(':');
      return { account, record: { type: (e.object?.type ?? '').replace(/^salesforce\./, ''), id: recordId }, event: e };
    });
    const reread = normalised.gaps.map((g) => ({ account: orgOf(item), record: { type: g.entityName, id: g.recordId } }));
    const ignored = events.length === 0 ? (normalised.unmapped.length > 0 ? 'not in the event map' : 'nothing to apply') : null;
    return { kind: 'events', events, ignored, reread };
  }

  async peopleOf(account: string, record: CrmRecordRef): Promise<CrmRecordRef[]> {
    return this.o.crm.contactsOf(account, record.type, record.id);
  }

  async getPerson(account: string, ref: CrmRecordRef): Promise<CrmPerson | null> {
    if (ref.type !== 'Contact' && ref.type !== 'Lead') return null;
    const p = await this.o.crm.getPerson(account, ref.type, ref.id);
    if (p === null) return null;
    const [person] = await this.people(account, [p]);
    return person ?? null;
  }

  /** People in our terms, with the consent the org keeps in its consent objects. */
  private async people(account: string, list: readonly SalesforcePerson[]): Promise<CrmPerson[]> {
    const now = Date.now();
    const { byPerson } = await this.o.crm.consentOf(account, list, now);
    return list.map((p) => ({
      ref: { type: p.type, id: p.id },
      identities: identitiesOf(p),
      ...profileOf(p, this.o.crm.timeZoneField),
      consent: [...consentFromFlags(p, p.modifiedAt ?? new Date(now).toISOString()), ...(byPerson.get(p.id) ?? [])],
      deleted: p.deleted,
      updatedAt: p.modifiedAt,
    }));
  }

  /**
   * Contacts, then Leads. Each starts as a SOQL query; when its first page says the org holds more
   * than the Bulk threshold, that type is read through a Bulk API 2.0 query job instead, page by
   * page from its `Sforce-Locator` (a page that is not ready yet comes back empty with the same
   * cursor: call again later).
   */
  async syncPage(account: string, cursor: string | null): Promise<SyncPage> {
    const c: SyncCursor = cursor === null ? { type: 'Contact', mode: 'soql', soql: null } : (JSON.parse(cursor) as SyncCursor);
    const after = (type: PersonType): string | null => {
      const i = PEOPLE.indexOf(type);
      const nextType = PEOPLE[i + 1];
      return nextType === undefined ? null : JSON.stringify({ type: nextType, mode: 'soql', soql: null } satisfies SyncCursor);
    };
    if (c.mode === 'soql') {
      const page = await this.o.crm.peoplePage(account, c.type, c.soql);
      if (c.soql === null && page.totalSize !== null && page.totalSize > (this.o.bulkThreshold ?? 50_000)) {
        const bulk = await this.bulk.start(account, `SELECT ${personFields(c.type, this.o.crm.timeZoneField).join(', ')} FROM ${c.type}`);
        return { people: [], next: JSON.stringify({ type: c.type, mode: 'bulk', bulk, complete: false } satisfies SyncCursor) };
      }
      const people = await this.people(account, page.people);
      return { people, next: page.next === null ? after(c.type) : JSON.stringify({ ...c, soql: page.next }) };
    }
    if (!c.complete) {
      const info = await this.bulk.info(account, c.bulk.jobId);
      if (info.state === 'Failed' || info.state === 'Aborted')
        throw new SalesforceApiError('BULK_JOB_FAILED', `the Bulk API query job ${c.bulk.jobId} ended ${info.state}`);
      if (info.state !== 'JobComplete') return { people: [], next: cursor };
    }
    const page = await this.bulk.page(account, c.bulk, { maxRecords: this.o.bulkPageSize ?? 10_000 });
    const people = await this.people(
      account,
      page.rows.map((r) => toPerson(account, c.type, r)),
    );
    return { people, next: page.cursor.done ? after(c.type) : JSON.stringify({ ...c, bulk: page.cursor, complete: true }) };
  }

  /**
   * Contacts then Leads changed since their watermarks, by (SystemModstamp, Id) so equal stamps
   * never skip a record; each type's watermark moves with every page.
   */
  async changedSince(account: string, cursor: string): Promise<ChangesPage> {
    const c = sweepCursor(cursor);
    const page = await this.o.crm.modifiedSince(account, c.current, c.at[c.current]);
    const people = await this.people(account, page.people);
    const moved: SweepCursor = { ...c, at: { ...c.at, [c.current]: page.next } };
    if (page.people.length > 0) return { people, next: JSON.stringify(moved), watermark: JSON.stringify({ ...moved, current: 'Contact' }) };
    const nextType = PEOPLE[PEOPLE.indexOf(c.current) + 1];
    const rest: SweepCursor = { ...moved, current: 'Contact' };
    return nextType === undefined
      ? { people, next: null, watermark: JSON.stringify(rest) }
      : { people, next: JSON.stringify({ ...moved, current: nextType }), watermark: JSON.stringify(rest) };
  }

  async logMessages(account: string, entries: readonly CrmMessageLog[]): Promise<CrmLogOutcome[]> {
    try {
      const results = await this.writeBack.logMessages(
        account,
        entries.map((m) => ({
          messageId: m.messageId,
          whoId: m.person.id,
          channel: m.channel,
          outcome: m.outcome,
          cost: m.cost,
          reason: m.reason,
          label: m.label,
          at: m.at,
          ...(m.detail ? { detail: m.detail } : {}),
        })),
      );
      return results.map((r) => ({
        messageId: r.key,
        recordId: r.id,
        kind: r.id === null ? null : 'task',
        error: r.error === null ? null : `${r.error.code}: ${r.error.message}`,
        permanent: r.error !== null,
      }));
    } catch (err) {
      const permanent = err instanceof OrgDisabledError || (err instanceof SalesforceApiError && !(err instanceof SalesforceLimitError));
      return entries.map((m) => ({ messageId: m.messageId, recordId: null, kind: null, error: (err as Error).message, permanent }));
    }
  }

  async writeFields(account: string, person: CrmRecordRef, f: CrmPersonFields): Promise<void> {
    const [r] = await this.writeBack.updateFields(account, [
      {
        type: person.type as PersonType,
        id: person.id,
        values: {
          preferredChannel: f.preferredChannel,
          reachableChannels: f.reachableChannels,
          consentSummary: f.consentSummary,
          lastDecisionReason: f.lastDecision,
          messages30d: f.messages30d,
          cost30d: f.cost30d,
        },
      },
    ]);
    if (r?.error) throw new SalesforceApiError(r.error.code, r.error.message, r.error.fields);
  }

  /**
   * Our consent change written back to the person: the opt-out flags, and a ContactPointTypeConsent
   * where the person has an Individual and the org keeps consent objects. Returns what was skipped.
   */
  async writeConsent(
    account: string,
    person: CrmRecordRef,
    change: {
      channel: string;
      purpose: 'marketing' | 'service' | 'transactional';
      status: 'granted' | 'revoked';
      at: string;
      source: string;
    },
  ): Promise<string | null> {
    if (person.type !== 'Contact' && person.type !== 'Lead') return `${person.type} is not a person`;
    const p = await this.o.crm.getPerson(account, person.type, person.id);
    if (p === null || p.deleted) return 'the person is gone';
    const individual = p.fields.IndividualId;
    const r = await this.writeBack.writeConsent(
      account,
      { type: person.type, id: p.id, individualId: typeof individual === 'string' ? individual : null },
      change,
    );
    if (r.flags?.error) throw new SalesforceApiError(r.flags.error.code, r.flags.error.message, r.flags.error.fields);
    return r.skipped;
  }

  limits(account: string): CrmLimits {
    const l = this.o.gateway.limits(account);
    return {
      crm: 'salesforce',
      account,
      max: l.apiUsage?.limit ?? null,
      used: l.apiUsage?.used ?? null,
      window: '24 h (rolling)',
      note: `pacing ${l.pacing}, ${l.minTimeMs} ms between calls${l.pausedUntil ? `, paused until ${l.pausedUntil}` : ''}; slows down past 80 % of the daily allocation`,
    };
  }
}

function headersOf(req: CrmRequest): Record<string, string | undefined> {
  return new Proxy({} as Record<string, string | undefined>, {
    get: (_t, name) => (typeof name === 'string' ? req.header(name) : undefined),
  });
}

const orgOf = (item: CrmInboxItem): string => {
  const p = item.payload as { orgId?: string; organizationId?: string };
  return p.orgId ?? p.organizationId ?? '';
};
