/**
 * A fake org: its records (fake-records.ts) and SOQL over them. A query's rows are generated
 * lazily, so a scan of a million seeded contacts holds one page at a time.
 */

import { FakeRecords, type Row, SfError, type Table, type Value } from './fake-records.js';
import { type Condition, evaluate, idLowerBound, SoqlError, type SoqlQuery } from './fake-soql.js';

export { type ChangeOrigin, type RecordChange, type Row, SfError, type Value } from './fake-records.js';

export class FakeOrg extends FakeRecords {
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
