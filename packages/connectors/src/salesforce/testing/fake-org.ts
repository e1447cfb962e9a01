/**
 * One fake org's data: tables of records with Salesforce's validation (unknown field, required
 * field, restricted picklist, string length, dangling reference, create-only field), external-id
 * lookups, and a change feed for Change Data Capture. A table can hold a *seeded* base of N records
 * generated on demand from their index, so a million contacts cost no memory until one changes.
 */
import { randomUUID } from 'node:crypto';
import { type FieldDef, fakeId, fakeIndex, type ObjectDef, standardObjects } from './fake-schema.js';
import { type Condition, evaluate, idLowerBound, SoqlError, type SoqlQuery } from './fake-soql.js';

export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;

/** An error as Salesforce's REST API reports it: `[{message, errorCode, fields}]`. */
export class SfError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields: string[] = [],
    /** A record-level error fails one record of a collection; a request-level one fails the call. */
    readonly level: 'record' | 'request' = 'request',
  ) {
    super(message);
  }
}

export interface ChangeOrigin {
  /** `rest`, `bulkapi`, or `ui` (a user in Lightning: no changeOrigin). */
  api: 'rest' | 'bulkapi' | 'ui';
  /** The `client=` of the request's Sforce-Call-Options header. */
  client?: string;
}

export interface RecordChange {
  entity: string;
  changeType: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';
  recordId: string;
  /** CREATE: every non-null field; UPDATE: the changed fields and LastModifiedDate. */
  fields: Row;
  changedFields: string[];
  nulledFields: string[];
  origin: ChangeOrigin;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
}

class Table {
  readonly byName = new Map<string, FieldDef>();
  baseCount = 0;
  baseAt = '';
  baseGen: ((index: number, id: string, at: string) => Row) | null = null;
  readonly modifiedBase = new Set<number>();
  readonly rows = new Map<string, Row>();
  readonly external = new Map<string, Map<string, string>>();
  nextIndex = 1;

  constructor(readonly def: ObjectDef) {
    for (const f of def.fields) this.byName.set(f.name.toLowerCase(), f);
    for (const f of def.fields) if (f.externalId) this.external.set(f.name, new Map());
  }

  field(name: string): FieldDef | undefined {
    return this.byName.get(name.toLowerCase());
  }

  base(index: number): Row {
    const id = fakeId(this.def.prefix, index);
    const row = (this.baseGen as NonNullable<Table['baseGen']>)(index, id, this.baseAt);
    return { Id: id, IsDeleted: false, CreatedDate: this.baseAt, LastModifiedDate: this.baseAt, SystemModstamp: this.baseAt, ...row };
  }

  get(id: string): Row | undefined {
    const r = this.rows.get(id);
    if (r !== undefined) return r;
    if (!id.startsWith(this.def.prefix)) return undefined;
    const i = fakeIndex(id);
    if (i >= 1 && i <= this.baseCount && !this.modifiedBase.has(i) && fakeId(this.def.prefix, i) === id) return this.base(i);
    return undefined;
  }

  /** Records in Id order (= creation order here). */
  *byId(after: string | null): Generator<Row> {
    let start = 1;
    if (after?.startsWith(this.def.prefix)) {
      const i = fakeIndex(after);
      if (Number.isFinite(i)) start = Math.max(1, i);
    }
    for (let i = start; i < this.nextIndex; i++) {
      if (i <= this.baseCount && !this.modifiedBase.has(i)) yield this.base(i);
      else {
        const r = this.rows.get(fakeId(this.def.prefix, i));
        if (r !== undefined) yield r;
      }
    }
  }

  /** Records by (SystemModstamp, Id): unchanged seeded ones first (they share the seed's stamp). */
  *byModstamp(): Generator<Row> {
    for (let i = 1; i <= this.baseCount; i++) if (!this.modifiedBase.has(i)) yield this.base(i);
    const rest = [...this.rows.values()].sort((a, b) =>
      a.SystemModstamp === b.SystemModstamp
        ? String(a.Id) < String(b.Id)
          ? -1
          : 1
        : String(a.SystemModstamp) < String(b.SystemModstamp)
          ? -1
          : 1,
    );
    yield* rest;
  }
}

const isoZ = (ms: number) => new Date(ms).toISOString();

export class FakeOrg {
  readonly tables = new Map<string, Table>();
  readonly users = new Map<string, string>();
  /** Daily API allocation and what this rolling day used (REST calls count, OAuth does not). */
  apiUsage = { used: 0, limit: 15_000 };
  onChange: ((c: RecordChange) => void) | null = null;
  private lastStamp = 0;
  /** Open `allOrNone` call: how to undo each write, and the changes CDC hears of on commit. */
  private tx: { undo: Array<() => void>; changes: RecordChange[] } | null = null;
  readonly integrationUserId: string;

  constructor(
    readonly id: string,
    readonly opts: { signalboxFields: boolean; consentObjects: boolean; now: () => number },
  ) {
    for (const def of standardObjects(opts)) this.tables.set(def.name.toLowerCase(), new Table(def));
    this.integrationUserId = this.insert('User', { Username: `integration@${id.toLowerCase()}.example` }, { api: 'ui' }).Id as string;
    this.users.set(`integration@${id.toLowerCase()}.example`, this.integrationUserId);
  }

  /** A custom object (e.g. `Invoice__c`), optionally with Change Data Capture selected. */
  defineObject(name: string, prefix: string, fields: FieldDef[], cdc = true): void {
    const sys = (this.table('Account').def.fields as FieldDef[]).filter((f) => f.system || f.name === 'OwnerId');
    this.tables.set(
      name.toLowerCase(),
      new Table({ name, prefix, cdc, fields: [...sys, { name: 'Name', type: 'string', length: 80 }, ...fields] }),
    );
  }

  table(name: string): Table {
    const t = this.tables.get(name.toLowerCase());
    if (t === undefined) throw new SfError(404, 'NOT_FOUND', `The requested resource does not exist`);
    return t;
  }

  /** For SOQL: an unknown object is INVALID_TYPE (400), not a 404. */
  queryTable(name: string): Table {
    const t = this.tables.get(name.toLowerCase());
    if (t === undefined)
      throw new SfError(
        400,
        'INVALID_TYPE',
        `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
      );
    return t;
  }

  now(): number {
    return this.opts.now();
  }

  /** A strictly increasing modstamp, never before the seed's. */
  private stamp(): string {
    this.lastStamp = Math.max(this.now(), this.lastStamp + 1);
    return isoZ(this.lastStamp);
  }

  /** N records generated from their index on demand (replaces an earlier seed of that object). */
  seed(type: string, count: number, gen: (index: number, id: string, at: string) => Row): void {
    const t = this.table(type);
    if (t.rows.size > 0 || t.baseCount > 0) throw new Error(`seed ${type} before creating any ${type} records`);
    t.baseCount = count;
    t.baseAt = this.stamp();
    t.baseGen = gen;
    t.nextIndex = count + 1;
  }

  get(type: string, id: string): Row | undefined {
    const r = this.table(type).get(id);
    return r === undefined || r.IsDeleted === true ? undefined : r;
  }

  /** Which object an id belongs to, from its key prefix. */
  typeOfId(id: string): string | undefined {
    for (const t of this.tables.values()) if (id.startsWith(t.def.prefix) && t.get(id) !== undefined) return t.def.name;
    return undefined;
  }

  findExternal(type: string, field: string, value: string): Row | undefined {
    const t = this.table(type);
    const f = t.field(field);
    if (f === undefined || !f.externalId)
      throw new SfError(400, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
    const id = t.external.get(f.name)?.get(value);
    return id === undefined ? undefined : this.get(type, id);
  }

  /** Canonical field names and checked values; throws SfError as Salesforce would. */
  private check(t: Table, values: Row, mode: 'insert' | 'update'): Row {
    const out: Row = {};
    for (const [k, v] of Object.entries(values)) {
      if (k === 'attributes' || k === 'Id') continue;
      const f = t.field(k);
      if (f === undefined) throw new SfError(400, 'INVALID_FIELD', `No such column '${k}' on sobject of type ${t.def.name}`, [k]);
      if (f.system || (mode === 'update' && f.createOnly))
        throw new SfError(
          400,
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          [f.name],
          'record',
        );
      out[f.name] = this.checkValue(t, f, v);
    }
    if (mode === 'insert')
      for (const f of t.def.fields) {
        if (out[f.name] === undefined && f.default !== undefined) out[f.name] = f.default;
        if (f.required && (out[f.name] === undefined || out[f.name] === null || out[f.name] === ''))
          throw new SfError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${f.name}]`, [f.name], 'record');
      }
    return out;
  }

  private checkValue(t: Table, f: FieldDef, v: Value): Value {
    if (v === null) {
      if (f.required) throw new SfError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${f.name}]`, [f.name], 'record');
      return null;
    }
    const bad = () =>
      new SfError(
        400,
        'JSON_PARSER_ERROR',
        `Cannot deserialize instance of ${f.type} from value ${JSON.stringify(v)} for field ${f.name}`,
        [f.name],
      );
    switch (f.type) {
      case 'boolean':
        if (typeof v !== 'boolean') throw bad();
        return v;
      case 'double':
      case 'currency':
      case 'int':
        if (typeof v !== 'number' || !Number.isFinite(v)) throw bad();
        return v;
      case 'date':
        if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad();
        return v;
      case 'datetime': {
        const ms = typeof v === 'string' ? Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN;
        if (Number.isNaN(ms)) throw bad();
        return isoZ(ms);
      }
      case 'reference': {
        if (typeof v !== 'string') throw bad();
        const target = (f.refersTo ?? []).some((type) => this.tables.has(type.toLowerCase()) && this.get(type, v) !== undefined);
        if (!target) throw new SfError(400, 'INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [f.name], 'record');
        return v;
      }
      case 'picklist':
        if (typeof v !== 'string') throw bad();
        if (f.picklist && !f.picklist.includes(v))
          throw new SfError(
            400,
            'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            `${t.def.name} ${f.name}: bad value for restricted picklist field: ${v}`,
            [f.name],
            'record',
          );
        return v;
      default:
        if (typeof v !== 'string') throw bad();
        if (f.length !== undefined && v.length > f.length)
          throw new SfError(
            400,
            'STRING_TOO_LONG',
            `${f.name}: data value too large: ${v.slice(0, 40)}… (max length=${f.length})`,
            [f.name],
            'record',
          );
        return v;
    }
  }

  private index(t: Table, row: Row): void {
    for (const [field, map] of t.external) {
      const v = row[field];
      if (typeof v === 'string' && v !== '') {
        const other = map.get(v);
        if (other !== undefined && other !== row.Id)
          throw new SfError(
            400,
            'DUPLICATE_VALUE',
            `duplicate value found: ${field} duplicates value on record with id: ${other}`,
            [field],
            'record',
          );
        map.set(v, row.Id as string);
      }
    }
  }

  insert(type: string, values: Row, origin: ChangeOrigin, tx?: { key: string; seq: number }): Row {
    const t = this.table(type);
    const checked = this.check(t, values, 'insert');
    const at = this.stamp();
    const id = fakeId(t.def.prefix, t.nextIndex++);
    const row: Row = { Id: id, IsDeleted: false, CreatedDate: at, LastModifiedDate: at, SystemModstamp: at, ...checked };
    if (t.field('OwnerId') && row.OwnerId === undefined && this.integrationUserId) row.OwnerId = this.integrationUserId;
    this.index(t, row);
    this.put(t, row, undefined);
    const fields = Object.fromEntries(
      Object.entries(row).filter(([k, v]) => v !== null && k !== 'Id' && k !== 'IsDeleted' && k !== 'SystemModstamp'),
    );
    this.emit(t, 'CREATE', id, fields, Object.keys(fields), [], origin, tx);
    return row;
  }

  update(type: string, id: string, values: Row, origin: ChangeOrigin, tx?: { key: string; seq: number }): Row {
    const t = this.table(type);
    const current = this.get(type, id);
    if (current === undefined) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', [], 'record');
    const checked = this.check(t, values, 'update');
    const changed = Object.keys(checked).filter((k) => current[k] !== checked[k]);
    const at = this.stamp();
    const row: Row = { ...current, ...checked, LastModifiedDate: at, SystemModstamp: at };
    this.index(t, row);
    this.put(t, row, current);
    if (changed.length > 0) {
      const fields: Row = { LastModifiedDate: at };
      for (const k of changed) fields[k] = row[k] ?? null;
      this.emit(
        t,
        'UPDATE',
        id,
        fields,
        [...changed, 'LastModifiedDate'],
        changed.filter((k) => row[k] === null),
        origin,
        tx,
      );
    }
    return row;
  }

  delete(type: string, id: string, origin: ChangeOrigin): void {
    const t = this.table(type);
    const current = this.get(type, id);
    if (current === undefined) throw new SfError(404, 'ENTITY_IS_DELETED', 'entity is deleted', [], 'record');
    const at = this.stamp();
    this.put(t, { ...current, IsDeleted: true, SystemModstamp: at }, current);
    this.emit(t, 'DELETE', id, {}, [], [], origin);
  }

  private put(t: Table, row: Row, prev: Row | undefined): void {
    const id = row.Id as string;
    const i = fakeIndex(id);
    const stored = t.rows.get(id);
    const wasModified = t.modifiedBase.has(i);
    if (i <= t.baseCount) t.modifiedBase.add(i);
    t.rows.set(id, row);
    this.tx?.undo.push(() => {
      if (stored === undefined) t.rows.delete(id);
      else t.rows.set(id, stored);
      if (!wasModified) t.modifiedBase.delete(i);
      for (const [field, map] of t.external) {
        const now = row[field];
        if (typeof now === 'string' && map.get(now) === id) map.delete(now);
        const before = prev?.[field];
        if (typeof before === 'string' && before !== '') map.set(before, id);
      }
    });
  }

  /** Starts an all-or-none call: writes can be undone, CDC hears of them only on commit. */
  begin(): void {
    this.tx = { undo: [], changes: [] };
  }

  commit(): void {
    const changes = this.tx?.changes ?? [];
    this.tx = null;
    for (const c of changes) this.onChange?.(c);
  }

  rollback(): void {
    const undo = this.tx?.undo ?? [];
    this.tx = null;
    for (const u of undo.reverse()) u();
  }

  private emit(
    t: Table,
    changeType: RecordChange['changeType'],
    recordId: string,
    fields: Row,
    changedFields: string[],
    nulledFields: string[],
    origin: ChangeOrigin,
    tx?: { key: string; seq: number },
  ): void {
    if (!t.def.cdc || this.onChange === null) return;
    const change: RecordChange = {
      entity: t.def.name,
      changeType,
      recordId,
      fields,
      changedFields: changeType === 'UPDATE' ? changedFields : [],
      nulledFields,
      origin,
      transactionKey: tx?.key ?? randomUUID(),
      sequenceNumber: tx ? ++tx.seq : 1,
      commitTimestamp: this.now(),
    };
    if (this.tx !== null) this.tx.changes.push(change);
    else this.onChange(change);
  }

  // ------------------------------------------------------------------ SOQL

  /** Checks the query's fields against the schema (INVALID_FIELD, as Salesforce answers). */
  checkQuery(q: SoqlQuery, fieldsInWhere: string[]): Table {
    const t = this.queryTable(q.from);
    for (const path of [...q.fields, ...fieldsInWhere, ...q.orderBy.map((o) => o.field)]) {
      if (path.endsWith('()')) continue;
      const [head, ...rest] = path.split('.');
      if (rest.length === 0) {
        if (t.field(path) === undefined)
          throw new SfError(
            400,
            'INVALID_FIELD',
            `No such column '${path}' on entity '${t.def.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`,
          );
      } else {
        const ref = t.field(`${head}Id`) ?? t.field(`${(head as string).replace(/__r$/, '__c')}`);
        const target = ref?.refersTo?.find((x) => this.tables.has(x.toLowerCase()));
        if (ref === undefined || target === undefined || this.table(target).field(rest.join('.')) === undefined)
          throw new SfError(400, 'INVALID_FIELD', `Didn't understand relationship '${head}' in field path.`);
      }
    }
    return t;
  }

  /** The value of a field path on a row, following parent relationships. */
  resolve(t: Table, row: Row, path: string): Value | Row | undefined {
    const dot = path.indexOf('.');
    if (dot < 0) {
      const f = t.field(path);
      return f === undefined ? undefined : (row[f.name] ?? null);
    }
    const head = path.slice(0, dot);
    const ref = t.field(`${head}Id`) ?? t.field(head.replace(/__r$/, '__c'));
    const id = ref === undefined ? null : row[ref.name];
    if (typeof id !== 'string') return null;
    for (const type of ref?.refersTo ?? []) {
      if (!this.tables.has(type.toLowerCase())) continue;
      const parent = this.get(type, id);
      if (parent !== undefined) return this.resolve(this.table(type), parent, path.slice(dot + 1));
    }
    return null;
  }

  /** Rows a query selects, in its order (generated lazily: a million-row scan holds one page). */
  *select(q: SoqlQuery, opts: { all?: boolean } = {}): Generator<{ t: Table; row: Row }> {
    const t = this.checkQuery(q, []);
    const where: Condition | null = q.where;
    const keep = (row: Row) => (opts.all || row.IsDeleted !== true) && (where === null || evaluate(where, (p) => this.resolve(t, row, p)));
    const order = q.orderBy.map((o) => `${o.field.toLowerCase()}${o.desc ? ' desc' : ''}`).join(',');
    let source: Iterable<Row>;
    if (order === '' || order === 'id') source = t.byId(idLowerBound(where));
    else if (order === 'systemmodstamp' || order === 'systemmodstamp,id') source = t.byModstamp();
    else {
      if (t.baseCount > 200_000) throw new SoqlError(`the fake sorts at most 200,000 rows in memory (ORDER BY ${order})`);
      const all = [...t.byId(null)].filter(keep);
      all.sort((a, b) => {
        for (const o of q.orderBy) {
          const x = this.resolve(t, a, o.field);
          const y = this.resolve(t, b, o.field);
          if (x === y) continue;
          const d = x === null ? -1 : y === null ? 1 : String(x) < String(y) ? -1 : 1;
          return o.desc ? -d : d;
        }
        return 0;
      });
      source = all;
    }
    let n = 0;
    for (const row of source) {
      if (q.limit !== null && n >= q.limit) return;
      if (!keep(row)) continue;
      n++;
      yield { t, row };
    }
  }

  /** A record as the REST API returns it (attributes, parent relationships nested). */
  toRest(t: Table, row: Row, fields: string[], version: string): Record<string, unknown> {
    const out: Record<string, unknown> = {
      attributes: { type: t.def.name, url: `/services/data/v${version}/sobjects/${t.def.name}/${row.Id}` },
    };
    for (const path of fields) {
      const parts = path.split('.');
      if (parts.length === 1) {
        const f = t.field(path);
        if (f === undefined) continue;
        const v = row[f.name] ?? null;
        out[f.name] = f.type === 'datetime' && typeof v === 'string' ? v.replace(/Z$/, '+0000') : v;
        continue;
      }
      const head = parts[0] as string;
      const ref = t.field(`${head}Id`) ?? t.field(head.replace(/__r$/, '__c'));
      const id = ref === undefined ? null : row[ref.name];
      const type =
        typeof id === 'string'
          ? (ref?.refersTo ?? []).find((x) => this.tables.has(x.toLowerCase()) && this.get(x, id) !== undefined)
          : undefined;
      if (type === undefined || typeof id !== 'string') {
        out[head] = null;
        continue;
      }
      const parentTable = this.table(type);
      const parent = this.get(type, id) as Row;
      const nested = (out[head] as Record<string, unknown> | undefined) ?? this.toRest(parentTable, parent, [], version);
      Object.assign(nested, this.toRest(parentTable, parent, [parts.slice(1).join('.')], version), { attributes: nested.attributes });
      out[head] = nested;
    }
    return out;
  }

  /** A record's value for a Bulk API 2.0 CSV cell (null → empty, datetimes in UTC with Z). */
  toCsvCell(t: Table, row: Row, path: string): string {
    const v = this.resolve(t, row, path);
    if (v === null || v === undefined || typeof v === 'object') return '';
    return String(v);
  }
}
