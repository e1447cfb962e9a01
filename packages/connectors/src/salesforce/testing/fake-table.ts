/** One object's records: a lazily generated seeded base plus the records created or changed since. */

import { type FieldDef, fakeId, fakeIndex, type ObjectDef } from './fake-schema.js';

/** A field's value as the REST API answers it, and a record as a map of them. */
export type Value = string | number | boolean | null;
export type Row = Record<string, Value>;

export class Table {
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
