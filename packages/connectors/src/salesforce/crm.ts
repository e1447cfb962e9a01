/**
 * The CRM reads Signalbox needs from an org, all through the gateway (limiter, tokens): Contacts,
 * Leads, Cases and Opportunities by id; the people behind a Case or an Opportunity; paging people
 * for the initial sync (SOQL with `nextRecordsUrl`, resumable after a crash) and incrementally by
 * SystemModstamp; consent from ContactPointTypeConsent / ContactPointConsent where the org has them.
 */
import type { ConsentRecord } from '@signalbox/engine';
import { SalesforceApiError } from './errors.js';
import type { SalesforceGateway } from './gateway.js';
import { toId18 } from './ids.js';
import {
  type ContactPointConsentRow,
  consentFromContactPoints,
  type PersonType,
  personFields,
  type SalesforcePerson,
  toPerson,
} from './records.js';
import { soqlDateTime, soqlId, soqlString } from './soql.js';

export interface SalesforceCrmOptions {
  /** Our time zone field on Contact and Lead (shipped metadata); null when the org has none. */
  timeZoneField?: string | null;
  /** Rows per SOQL page (Sforce-Query-Options batchSize, 200–2000). */
  batchSize?: number;
}

/** Where the initial SOQL sync of one person type stands: the next page's locator and the last id done. */
export interface SoqlSyncCursor {
  nextRecordsUrl: string | null;
  lastId: string | null;
}

/** Where the incremental sync stands: the (SystemModstamp, Id) of the last person handed over. */
export interface ModstampCursor {
  since: string;
  lastId: string | null;
}

type Rec = Record<string, unknown>;

export class SalesforceCrm {
  readonly timeZoneField: string | null;
  private readonly batchSize: number;
  /** Orgs without Data Protection & Privacy (no ContactPoint* objects): asked once. */
  private readonly noConsentObjects = new Set<string>();
  private readonly lookups = new Map<string, string[]>();

  constructor(
    readonly gateway: SalesforceGateway,
    opts: SalesforceCrmOptions = {},
  ) {
    this.timeZoneField = opts.timeZoneField === undefined ? 'Signalbox_Time_Zone__c' : opts.timeZoneField;
    this.batchSize = Math.min(2000, Math.max(200, opts.batchSize ?? 2000));
  }

  /** One record's fields, or null when it does not exist (or was deleted). */
  async getRecord(orgId: string, type: string, id: string, fields: readonly string[]): Promise<Rec | null> {
    const full = toId18(id);
    if (full === null) return null;
    try {
      return (await this.gateway.call(orgId, async (c) => c.sobject(type).retrieve(full, { fields: [...fields] }))) as unknown as Rec;
    } catch (e) {
      if (e instanceof SalesforceApiError && (e.errorCode === 'NOT_FOUND' || e.errorCode === 'ENTITY_IS_DELETED')) return null;
      throw e;
    }
  }

  async getPerson(orgId: string, type: PersonType, id: string): Promise<SalesforcePerson | null> {
    const r = await this.getRecord(orgId, type, id, personFields(type, this.timeZoneField));
    return r === null ? null : toPerson(orgId, type, r);
  }

  getCase(orgId: string, id: string): Promise<Rec | null> {
    return this.getRecord(orgId, 'Case', id, ['Id', 'ContactId', 'Subject', 'Status', 'Priority', 'Origin', 'SystemModstamp']);
  }

  getOpportunity(orgId: string, id: string): Promise<Rec | null> {
    return this.getRecord(orgId, 'Opportunity', id, ['Id', 'Name', 'StageName', 'Amount', 'CloseDate', 'ContactId', 'SystemModstamp']);
  }

  /**
   * The people a record is about: itself for a Contact or Lead, the Case's contact, the
   * Opportunity's contact roles (primary first) or else its primary contact field.
   */
  async contactsOf(orgId: string, type: string, id: string): Promise<Array<{ type: PersonType; id: string }>> {
    const full = toId18(id);
    if (full === null) return [];
    if (type === 'Contact' || type === 'Lead') return [{ type, id: full }];
    if (type === 'Case') {
      const c = await this.getCase(orgId, full);
      return typeof c?.ContactId === 'string' ? [{ type: 'Contact', id: c.ContactId }] : [];
    }
    if (type === 'Opportunity') {
      const roles = await this.gateway.call(orgId, async (c) =>
        c.query<{ ContactId: string }>(
          `SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = ${soqlId(full)} ORDER BY IsPrimary DESC, Id`,
        ),
      );
      const ids = [...new Set(roles.records.map((r) => r.ContactId))];
      if (ids.length > 0) return ids.map((cid) => ({ type: 'Contact' as const, id: cid }));
      const o = await this.getOpportunity(orgId, full);
      return typeof o?.ContactId === 'string' ? [{ type: 'Contact', id: o.ContactId }] : [];
    }
    // any other object (the org's payment object, a custom one): its lookups to a Contact or a Lead
    const lookups = await this.personLookups(orgId, type);
    if (lookups.length === 0) return [];
    const r = await this.getRecord(orgId, type, full, ['Id', ...lookups]);
    const people: Array<{ type: PersonType; id: string }> = [];
    for (const f of lookups) {
      const v = toId18(String(r?.[f] ?? ''));
      if (v === null) continue;
      const personType: PersonType | null = v.startsWith('003') ? 'Contact' : v.startsWith('00Q') ? 'Lead' : null;
      if (personType !== null && !people.some((p) => p.id === v)) people.push({ type: personType, id: v });
    }
    return people;
  }

  /** An object's lookup fields to Contact or Lead, from its describe (read once per org and object). */
  private async personLookups(orgId: string, type: string): Promise<string[]> {
    const key = `${orgId}:${type}`;
    const known = this.lookups.get(key);
    if (known !== undefined) return known;
    let fields: string[] = [];
    try {
      const d = await this.gateway.call(orgId, async (c) => c.sobject(type).describe());
      fields = d.fields
        .filter((f) => f.type === 'reference' && (f.referenceTo ?? []).some((t) => t === 'Contact' || t === 'Lead'))
        .map((f) => f.name);
    } catch (e) {
      // an object this org does not have (or we may not see) is about nobody
      if (!(e instanceof SalesforceApiError && (e.errorCode === 'NOT_FOUND' || e.errorCode === 'INVALID_TYPE'))) throw e;
    }
    this.lookups.set(key, fields);
    return fields;
  }

  private queryOptions() {
    return { headers: { 'Sforce-Query-Options': `batchSize=${this.batchSize}` } };
  }

  /**
   * One page of the initial SOQL sync (small orgs; above a threshold use Bulk API 2.0). Pages follow
   * `nextRecordsUrl`; a locator Salesforce no longer knows (15 minutes idle, a restart) is replaced
   * by a fresh query from the last id done, so a stored cursor always resumes.
   */
  async peoplePage(
    orgId: string,
    type: PersonType,
    cursor: SoqlSyncCursor | null,
  ): Promise<{ people: SalesforcePerson[]; next: SoqlSyncCursor | null; totalSize: number | null }> {
    const fields = personFields(type, this.timeZoneField).join(', ');
    const fresh = (after: string | null) => `SELECT ${fields} FROM ${type}${after ? ` WHERE Id > ${soqlId(after)}` : ''} ORDER BY Id`;
    let res: { records: Rec[]; done: boolean; nextRecordsUrl?: string; totalSize?: number };
    const run = (soql: string) =>
      this.gateway.call(
        orgId,
        async (c) =>
          (await c.request({ method: 'GET', url: `/query?q=${encodeURIComponent(soql)}`, ...this.queryOptions() })) as typeof res,
      );
    if (cursor?.nextRecordsUrl) {
      const url = cursor.nextRecordsUrl;
      try {
        res = await this.gateway.call(orgId, async (c) => (await c.request({ method: 'GET', url, ...this.queryOptions() })) as typeof res);
      } catch (e) {
        if (!(e instanceof SalesforceApiError && e.errorCode === 'INVALID_QUERY_LOCATOR')) throw e;
        res = await run(fresh(cursor.lastId));
      }
    } else res = await run(fresh(cursor?.lastId ?? null));
    const people = res.records.map((r) => toPerson(orgId, type, r));
    const lastId = people.at(-1)?.id ?? cursor?.lastId ?? null;
    const next = res.done ? null : { nextRecordsUrl: res.nextRecordsUrl ?? null, lastId };
    // how many the query matches (the first page tells how big the org is)
    return { people, next, totalSize: typeof res.totalSize === 'number' ? res.totalSize : null };
  }

  /**
   * People changed since the cursor, oldest first (deleted ones too, flagged), by (SystemModstamp,
   * Id) so equal stamps never skip a record: the repair sweep next to Change Data Capture.
   */
  async modifiedSince(
    orgId: string,
    type: PersonType,
    cursor: ModstampCursor,
    limit = 2000,
  ): Promise<{ people: SalesforcePerson[]; next: ModstampCursor }> {
    const fields = [...personFields(type, this.timeZoneField), 'IsDeleted'].join(', ');
    const since = soqlDateTime(cursor.since);
    const where = cursor.lastId
      ? `SystemModstamp > ${since} OR (SystemModstamp = ${since} AND Id > ${soqlId(cursor.lastId)})`
      : `SystemModstamp > ${since}`;
    const soql = `SELECT ${fields} FROM ${type} WHERE ${where} ORDER BY SystemModstamp, Id LIMIT ${Math.max(1, Math.min(limit, 2000))}`;
    const res = await this.gateway.call(
      orgId,
      async (c) => (await c.request({ method: 'GET', url: `/queryAll?q=${encodeURIComponent(soql)}` })) as { records: Rec[] },
    );
    const people = res.records.map((r) => toPerson(orgId, type, r));
    const last = people.at(-1);
    return { people, next: last ? { since: last.modifiedAt ?? cursor.since, lastId: last.id } : cursor };
  }

  /**
   * Consent kept in Salesforce's consent objects for these people (through their Individual):
   * ContactPointTypeConsent by party, ContactPointConsent through the Individual's contact points.
   * Orgs without Data Protection & Privacy answer INVALID_TYPE once and are not asked again.
   */
  async consentOf(
    orgId: string,
    people: readonly SalesforcePerson[],
    nowMs: number,
  ): Promise<{ byPerson: Map<string, ConsentRecord[]>; ignored: string[] }> {
    const byPerson = new Map<string, ConsentRecord[]>();
    const ignored: string[] = [];
    const individuals = new Map<string, string[]>();
    for (const p of people) {
      const ind = p.fields.IndividualId;
      if (typeof ind === 'string' && ind !== '') individuals.set(ind, [...(individuals.get(ind) ?? []), p.id]);
    }
    if (individuals.size === 0 || this.noConsentObjects.has(orgId)) return { byPerson, ignored };
    const select =
      'Id, ContactPointType, PrivacyConsentStatus, EffectiveFrom, EffectiveTo, CaptureDate, CaptureSource, DataUsePurpose.Name, EngagementChannelType.Name';
    const query = async (soql: string): Promise<Rec[]> =>
      this.gateway.call(orgId, async (c) => (await c.query<Rec>(soql, { autoFetch: true, maxFetch: 50_000 })).records);
    const row = (r: Rec, type: string | null): ContactPointConsentRow => ({
      Id: String(r.Id),
      ContactPointType: type,
      PrivacyConsentStatus: (r.PrivacyConsentStatus as string | null) ?? null,
      EffectiveFrom: (r.EffectiveFrom as string | null) ?? null,
      EffectiveTo: (r.EffectiveTo as string | null) ?? null,
      CaptureDate: (r.CaptureDate as string | null) ?? null,
      CaptureSource: (r.CaptureSource as string | null) ?? null,
      purposeName: ((r.DataUsePurpose as Rec | null)?.Name as string | undefined) ?? null,
      engagementChannel: ((r.EngagementChannelType as Rec | null)?.Name as string | undefined) ?? null,
    });
    const add = (individual: string, rows: ContactPointConsentRow[]) => {
      const { records, ignored: why } = consentFromContactPoints(rows, nowMs);
      ignored.push(...why);
      for (const pid of individuals.get(individual) ?? []) byPerson.set(pid, [...(byPerson.get(pid) ?? []), ...records]);
    };
    const ids = [...individuals.keys()];
    try {
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids
          .slice(i, i + 200)
          .map(soqlId)
          .join(', ');
        for (const r of await query(`SELECT PartyId, ${select} FROM ContactPointTypeConsent WHERE PartyId IN (${chunk})`))
          add(String(r.PartyId), [row(r, (r.ContactPointType as string | null) ?? null)]);
        const points = new Map<string, { parent: string; type: 'Phone' | 'Email' }>();
        for (const [object, type] of [
          ['ContactPointPhone', 'Phone'],
          ['ContactPointEmail', 'Email'],
        ] as const)
          for (const r of await query(`SELECT Id, ParentId FROM ${object} WHERE ParentId IN (${chunk})`))
            points.set(String(r.Id), { parent: String(r.ParentId), type });
        const pointIds = [...points.keys()];
        for (let j = 0; j < pointIds.length; j += 200)
          for (const r of await query(
            `SELECT ContactPointId, ${select.replace('ContactPointType, ', '')} FROM ContactPointConsent WHERE ContactPointId IN (${pointIds
              .slice(j, j + 200)
              .map(soqlString)
              .join(', ')})`,
          )) {
            const point = points.get(String(r.ContactPointId));
            if (point) add(point.parent, [row(r, point.type)]);
          }
      }
    } catch (e) {
      if (e instanceof SalesforceApiError && e.errorCode === 'INVALID_TYPE') {
        this.noConsentObjects.add(orgId);
        return { byPerson: new Map(), ignored };
      }
      throw e;
    }
    return { byPerson, ignored };
  }
}
