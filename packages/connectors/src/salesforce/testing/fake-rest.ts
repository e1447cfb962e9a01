/**
 * The fake's REST API under `/services/data/v<version>`: query/queryAll with `nextRecordsUrl`
 * paging (and expiring locators), sObject get/create/update/delete and upsert by external id,
 * sObject Collections (200 records at most, `allOrNone` rolled back), `/limits`, and the Bulk API
 * 2.0 query job endpoints. Answers use Salesforce's shapes: records with `attributes`, save results
 * `{id, success, errors[], created}`, errors as `[{message, errorCode, fields}]`.
 */
import type { FakeBulk } from './fake-bulk.js';
import { locatorId } from './fake-bulk.js';
import { type ChangeOrigin, type FakeOrg, type Row, SfError } from './fake-org.js';
import { conditionFields, parseSoql, type SoqlError, type SoqlQuery } from './fake-soql.js';

export const MAX_COLLECTION = 200;
const LOCATOR_TTL_MS = 15 * 60_000;

export interface RestReply {
  status: number;
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

interface Cursor {
  orgId: string;
  query: SoqlQuery;
  all: boolean;
  offset: number;
  total: number;
  rows: Generator<{ row: Row }>;
  usedAt: number;
}

export class FakeRest {
  private readonly cursors = new Map<string, Cursor>();

  constructor(
    private readonly bulk: FakeBulk,
    private readonly now: () => number,
  ) {}

  route(
    org: FakeOrg,
    version: string,
    method: string,
    path: string,
    url: URL,
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
    origin: ChangeOrigin,
    userId: string,
  ): RestReply {
    const seg = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const obj = (body ?? {}) as Record<string, unknown>;
    const ok = (b: unknown, status = 200): RestReply => ({ status, body: b });
    const [a, b, c, d] = seg;

    if (seg.length === 0 && method === 'GET')
      return ok({
        sobjects: `/services/data/v${version}/sobjects`,
        query: `/services/data/v${version}/query`,
        limits: `/services/data/v${version}/limits`,
        jobs: `/services/data/v${version}/jobs`,
      });
    if (a === 'limits' && seg.length === 1 && method === 'GET') {
      const jobs = [...this.bulk.jobs.values()].filter((j) => j.orgId === org.id).length;
      return ok({
        DailyApiRequests: { Max: org.apiUsage.limit, Remaining: Math.max(0, org.apiUsage.limit - org.apiUsage.used) },
        DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 - jobs },
        DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
      });
    }
    if ((a === 'query' || a === 'queryAll') && method === 'GET') {
      const batch = Number(/batchSize=(\d+)/.exec(String(headers['sforce-query-options'] ?? ''))?.[1] ?? 2000);
      const size = Math.min(2000, Math.max(200, batch));
      if (seg.length === 1) return ok(this.query(org, version, url.searchParams.get('q') ?? '', a === 'queryAll', size));
      if (seg.length === 2) return ok(this.queryMore(org, version, b as string, size));
    }
    if (a === 'jobs' && b === 'query') {
      if (seg.length === 2 && method === 'POST') return ok(this.bulk.create(org, version, obj, userId));
      if (seg.length === 2 && method === 'GET') return ok(this.bulk.list(org));
      if (seg.length === 3 && method === 'GET') return ok(this.bulk.poll(org, c as string));
      if (seg.length === 3 && method === 'PATCH') return ok(this.bulk.abort(org, c as string, obj));
      if (seg.length === 3 && method === 'DELETE') {
        this.bulk.delete(org, c as string);
        return { status: 204, body: undefined };
      }
      if (seg.length === 4 && d === 'results' && method === 'GET') {
        const page = this.bulk.results(org, c as string, version, url.searchParams);
        return {
          status: 200,
          body: page.csv,
          contentType: 'text/csv',
          headers: { 'sforce-locator': page.locator, 'sforce-numberofrecords': String(page.count) },
        };
      }
    }
    if (a === 'sobjects' && b !== undefined) {
      const type = org.table(b).def.name;
      if (seg.length === 2 && method === 'POST') {
        const row = org.insert(type, obj as Row, origin);
        return ok({ id: row.Id, success: true, errors: [] }, 201);
      }
      if (seg.length === 3 && c === 'describe' && method === 'GET') {
        // the slice of the sObject Describe answer the fake's schema can give
        const def = org.table(b).def;
        return ok({
          name: def.name,
          label: def.name.replace(/__c$/, '').replace(/_/g, ' '),
          keyPrefix: def.prefix,
          custom: def.name.endsWith('__c'),
          fields: def.fields.map((f) => ({
            name: f.name,
            type: f.type,
            length: f.length ?? 0,
            custom: f.name.endsWith('__c'),
            externalId: f.externalId === true,
            nillable: f.required !== true && f.type !== 'id' && f.type !== 'boolean',
            createable: f.system !== true,
            updateable: f.system !== true && f.createOnly !== true,
            referenceTo: f.refersTo ?? [],
            relationshipName: f.type === 'reference' ? f.name.replace(/__c$/, '__r').replace(/Id$/, '') : null,
            picklistValues: (f.picklist ?? []).map((v) => ({ value: v, label: v, active: true, defaultValue: false })),
          })),
        });
      }
      if (seg.length === 3) {
        const id = c as string;
        if (method === 'GET') {
          const row = org.get(type, id);
          if (row === undefined) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
          return ok(this.view(org, type, row, version, url.searchParams.get('fields')));
        }
        if (method === 'PATCH') {
          org.update(type, id, obj as Row, origin);
          return { status: 204, body: undefined };
        }
        if (method === 'DELETE') {
          org.delete(type, id, origin);
          return { status: 204, body: undefined };
        }
      }
      if (seg.length === 4) {
        const field = c as string;
        const value = d as string;
        if (method === 'GET') {
          const row = org.findExternal(type, field, value);
          if (row === undefined) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
          return ok(this.view(org, type, row, version, url.searchParams.get('fields')));
        }
        if (method === 'PATCH') {
          const r = this.upsertOne(org, type, field, { ...(obj as Row), [field]: value }, origin);
          if (Number(version) < 46)
            return { status: r.created ? 201 : 204, body: r.created ? { id: r.id, success: true, errors: [] } : undefined };
          return ok({ id: r.id, success: true, errors: [], created: r.created }, r.created ? 201 : 200);
        }
      }
    }
    if (a === 'composite' && b === 'sobjects') {
      if (Number(version) < 42) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      if (seg.length === 2 && method === 'DELETE') {
        const ids = (url.searchParams.get('ids') ?? '').split(',').filter((s) => s !== '');
        this.cap(ids.length);
        return ok(
          ids.map((id) =>
            this.attempt(() => {
              const type = org.typeOfId(id);
              if (type === undefined) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', [], 'record');
              org.delete(type, id, origin);
              return { id, success: true, errors: [] };
            }, id),
          ),
        );
      }
      if (seg.length === 2 && (method === 'POST' || method === 'PATCH')) {
        const records = this.records(obj);
        return ok(
          this.collection(org, obj.allOrNone === true, records, (r) => {
            const type = (r.attributes as { type?: string } | undefined)?.type;
            if (typeof type !== 'string') throw new SfError(400, 'INVALID_TYPE', 'Must send a concrete entity type.', [], 'record');
            if (method === 'POST') return { id: org.insert(type, r, origin).Id as string, success: true, errors: [] };
            if (typeof r.Id !== 'string') throw new SfError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', [], 'record');
            org.update(type, r.Id, r, origin);
            return { id: r.Id, success: true, errors: [] };
          }),
        );
      }
      if (seg.length === 3 && (method === 'POST' || method === 'GET')) {
        const type = org.table(c as string).def.name;
        const ids = method === 'GET' ? (url.searchParams.get('ids') ?? '').split(',') : ((obj.ids as string[] | undefined) ?? []);
        const fields = method === 'GET' ? url.searchParams.get('fields') : ((obj.fields as string[] | undefined) ?? []).join(',');
        this.cap(ids.length);
        return ok(
          ids.map((id) => {
            const row = org.get(type, id);
            return row === undefined ? null : this.view(org, type, row, version, fields);
          }),
        );
      }
      if (seg.length === 4 && method === 'PATCH') {
        if (Number(version) < 46) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
        const type = org.table(c as string).def.name;
        const field = d as string;
        const records = this.records(obj);
        const seen = new Set<string>();
        for (const r of records) {
          const v = r[field];
          if (typeof v === 'string' && seen.has(v))
            throw new SfError(400, 'DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${v}`, [field]);
          if (typeof v === 'string') seen.add(v);
        }
        return ok(
          this.collection(org, obj.allOrNone === true, records, (r) => {
            const rt = (r.attributes as { type?: string } | undefined)?.type;
            if (rt !== undefined && rt.toLowerCase() !== type.toLowerCase())
              throw new SfError(400, 'INVALID_TYPE', `Record type ${rt} does not match ${type}`, [], 'record');
            const res = this.upsertOne(org, type, field, r, origin);
            return { id: res.id, success: true, errors: [], created: res.created };
          }),
        );
      }
    }
    throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  private cap(n: number): void {
    if (n > MAX_COLLECTION)
      throw new SfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`);
  }

  private records(obj: Record<string, unknown>): Row[] {
    const records = obj.records;
    if (!Array.isArray(records)) throw new SfError(400, 'JSON_PARSER_ERROR', 'records is required');
    this.cap(records.length);
    return records as Row[];
  }

  private attempt<T extends Record<string, unknown>>(
    fn: () => T,
    id: string | null = null,
  ): T | { id: string | null; success: false; errors: unknown[] } {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SfError) || e.level !== 'record') throw e;
      return { id, success: false, errors: [{ statusCode: e.errorCode, message: e.message, fields: e.fields }] };
    }
  }

  /** Each record on its own, or all of them or none (`allOrNone`, rolled back on the first failure). */
  private collection(org: FakeOrg, allOrNone: boolean, records: Row[], one: (r: Row) => Record<string, unknown>): unknown[] {
    // a request-level error (an unknown field) fails the whole call, as Salesforce checks the body first
    org.begin();
    let results: Array<Record<string, unknown>>;
    try {
      results = records.map((r) => this.attempt(() => one(r)));
    } catch (e) {
      org.rollback();
      throw e;
    }
    if (!allOrNone || results.every((r) => r.success === true)) {
      org.commit();
      return results;
    }
    org.rollback();
    return results.map((r) =>
      r.success === true
        ? {
            id: null,
            success: false,
            errors: [
              {
                statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
                fields: [],
              },
            ],
          }
        : r,
    );
  }

  private upsertOne(org: FakeOrg, type: string, field: string, r: Row, origin: ChangeOrigin): { id: string; created: boolean } {
    const value = r[field];
    if (typeof value !== 'string' || value === '') throw new SfError(400, 'MISSING_ARGUMENT', `${field} not specified`, [field], 'record');
    const found = org.findExternal(type, field, value);
    if (found === undefined) return { id: org.insert(type, r, origin).Id as string, created: true };
    const { [field]: _ext, ...rest } = r;
    org.update(type, found.Id as string, rest, origin);
    return { id: found.Id as string, created: false };
  }

  private view(org: FakeOrg, type: string, row: Row, version: string, fields: string | null): Record<string, unknown> {
    const t = org.table(type);
    const list = fields ? fields.split(',').map((f) => f.trim()) : t.def.fields.map((f) => f.name);
    for (const f of list)
      if (t.field(f) === undefined) throw new SfError(400, 'INVALID_FIELD', `No such column '${f}' on sobject of type ${type}`, [f]);
    return org.toRest(t, row, ['Id', ...list.filter((f) => f.toLowerCase() !== 'id')], version);
  }

  private query(org: FakeOrg, version: string, soql: string, all: boolean, size: number): Record<string, unknown> {
    let query: SoqlQuery;
    try {
      query = parseSoql(soql);
    } catch (e) {
      throw new SfError(400, 'MALFORMED_QUERY', (e as SoqlError).message);
    }
    org.checkQuery(query, conditionFields(query.where));
    let total = 0;
    for (const _ of org.select(query, { all })) total++;
    const cursor: Cursor = { orgId: org.id, query, all, offset: 0, total, rows: org.select(query, { all }), usedAt: this.now() };
    return this.page(org, version, locatorId(), cursor, size);
  }

  private queryMore(org: FakeOrg, version: string, locator: string, size: number): Record<string, unknown> {
    const m = /^(01g[0-9A-F]+)-(\d+)$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1] as string) : undefined;
    if (m === null || cursor === undefined || cursor.orgId !== org.id || cursor.usedAt < this.now() - LOCATOR_TTL_MS)
      throw new SfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    const offset = Number(m[2]);
    if (offset !== cursor.offset) {
      cursor.rows = org.select(cursor.query, { all: cursor.all });
      for (let i = 0; i < offset; i++) cursor.rows.next();
      cursor.offset = offset;
    }
    return this.page(org, version, m[1] as string, cursor, size);
  }

  private page(org: FakeOrg, version: string, id: string, cursor: Cursor, size: number): Record<string, unknown> {
    const t = org.queryTable(cursor.query.from);
    const records: unknown[] = [];
    while (records.length < size) {
      const n = cursor.rows.next();
      if (n.done) break;
      records.push(org.toRest(t, n.value.row, cursor.query.fields, version));
    }
    cursor.offset += records.length;
    cursor.usedAt = this.now();
    const done = cursor.offset >= cursor.total;
    if (done) this.cursors.delete(id);
    else this.cursors.set(id, cursor);
    return {
      totalSize: cursor.total,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${cursor.offset}` }),
      records,
    };
  }
}
