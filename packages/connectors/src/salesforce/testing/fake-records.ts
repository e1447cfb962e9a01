/**
 * One fake org's records: tables of records with Salesforce's validation (unknown field, required
 * field, restricted picklist, string length, dangling reference, create-only field), external-id
 * lookups, and a change feed for Change Data Capture. A table can hold a *seeded* base of N records
 * generated on demand from their index, so a million contacts cost no memory until one changes.
 */
import { randomUUID } from 'node:crypto';
import { type FieldDef, fakeId, fakeIndex, standardObjects } from './fake-schema.js';
import { Table } from './fake-table.js';

export type { Row, Value } from './fake-table.js';
export { Table } from './fake-table.js';

import type { Row, Value } from './fake-table.js';

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

const isoZ = (ms: number) => new Date(ms).toISOString();

export class FakeRecords {
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
}
