/**
 * Just enough SOQL for the fake: SELECT fields (with parent dot paths) FROM one object, WHERE with
 * AND/OR/NOT, comparisons, IN, LIKE and date-time literals, ORDER BY, LIMIT. What Bulk API 2.0
 * refuses (aggregates, GROUP BY, OFFSET, FIELDS(), sub-queries) is flagged so the bulk endpoint can
 * refuse it as Salesforce does.
 */
export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number };

export type Condition =
  | { op: 'and' | 'or'; items: Condition[] }
  | { op: 'not'; item: Condition }
  | { op: 'cmp'; field: string; cmp: '=' | '!=' | '<' | '<=' | '>' | '>='; value: Literal }
  | { op: 'in'; field: string; negate: boolean; values: Literal[] }
  | { op: 'like'; field: string; pattern: string };

export interface SoqlQuery {
  fields: string[];
  from: string;
  where: Condition | null;
  orderBy: Array<{ field: string; desc: boolean }>;
  limit: number | null;
  /** What Bulk API 2.0 does not support, if anything. */
  bulkUnsupported: string | null;
}

export class SoqlError extends Error {}

const TOKEN =
  /\s*(?:('(?:[^'\\]|\\.)*')|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))|(\d{4}-\d{2}-\d{2})(?![\d:T])|(-?\d+(?:\.\d+)?)(?![\w-])|(!=|<=|>=|<>|=|<|>|\(|\)|,)|([A-Za-z_][\w.]*))/y;

type Tok = { t: 'str' | 'dt' | 'date' | 'num' | 'sym' | 'word'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    if (/^\s*$/.test(s.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(s);
    if (m === null) throw new SoqlError(`unexpected token at position ${pos}: ${s.slice(pos, pos + 20)}`);
    pos = TOKEN.lastIndex;
    if (m[1] !== undefined) out.push({ t: 'str', v: m[1].slice(1, -1).replace(/\\(.)/g, '$1') });
    else if (m[2] !== undefined) out.push({ t: 'dt', v: m[2] });
    else if (m[3] !== undefined) out.push({ t: 'date', v: m[3] });
    else if (m[4] !== undefined) out.push({ t: 'num', v: m[4] });
    else if (m[5] !== undefined) out.push({ t: 'sym', v: m[5] });
    else if (m[6] !== undefined) out.push({ t: 'word', v: m[6] });
  }
  return out;
}

export function parseSoql(soql: string): SoqlQuery {
  const toks = tokenize(soql);
  let i = 0;
  const peek = () => toks[i];
  const isWord = (w: string) => peek()?.t === 'word' && peek()?.v.toUpperCase() === w;
  const expectWord = (w: string) => {
    if (!isWord(w)) throw new SoqlError(`expected ${w}`);
    i++;
  };
  const next = (): Tok => {
    const t = toks[i++];
    if (t === undefined) throw new SoqlError('unexpected end of query');
    return t;
  };
  let bulkUnsupported: string | null = null;
  expectWord('SELECT');
  const fields: string[] = [];
  for (;;) {
    const t = next();
    if (t.t === 'sym' && t.v === '(') {
      bulkUnsupported ??= 'parent-to-child sub-queries';
      let depth = 1;
      while (depth > 0) {
        const u = next();
        if (u.v === '(') depth++;
        if (u.v === ')') depth--;
      }
    } else if (t.t === 'word') {
      if (peek()?.v === '(') {
        // COUNT(), FIELDS(ALL), MAX(x): functions
        bulkUnsupported ??= t.v.toUpperCase() === 'FIELDS' ? 'FIELDS()' : 'aggregate functions';
        while (next().v !== ')');
        fields.push(`${t.v}()`);
      } else fields.push(t.v);
    } else throw new SoqlError(`unexpected ${t.v} in the field list`);
    if (peek()?.v === ',') {
      i++;
      continue;
    }
    break;
  }
  expectWord('FROM');
  const from = next();
  if (from.t !== 'word') throw new SoqlError('expected an object name after FROM');
  let where: Condition | null = null;
  const orderBy: SoqlQuery['orderBy'] = [];
  let limit: number | null = null;

  const literal = (): Literal => {
    const t = next();
    if (t.t === 'str') return { kind: 'string', value: t.v };
    if (t.t === 'num') return { kind: 'number', value: Number(t.v) };
    if (t.t === 'dt') return { kind: 'datetime', value: Date.parse(t.v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) };
    if (t.t === 'date') return { kind: 'datetime', value: Date.parse(`${t.v}T00:00:00Z`) };
    if (t.t === 'word' && /^(true|false)$/i.test(t.v)) return { kind: 'bool', value: t.v.toLowerCase() === 'true' };
    if (t.t === 'word' && /^null$/i.test(t.v)) return { kind: 'null' };
    throw new SoqlError(`unexpected ${t.v} where a value was expected`);
  };
  const primary = (): Condition => {
    if (isWord('NOT')) {
      i++;
      return { op: 'not', item: primary() };
    }
    if (peek()?.v === '(') {
      i++;
      const c = orExpr();
      if (next().v !== ')') throw new SoqlError('expected )');
      return c;
    }
    const f = next();
    if (f.t !== 'word') throw new SoqlError(`expected a field, found ${f.v}`);
    if (isWord('IN') || isWord('NOT')) {
      const negate = isWord('NOT');
      if (negate) i++;
      expectWord('IN');
      if (next().v !== '(') throw new SoqlError('expected ( after IN');
      const values: Literal[] = [];
      for (;;) {
        values.push(literal());
        const t = next();
        if (t.v === ')') break;
        if (t.v !== ',') throw new SoqlError('expected , or ) in an IN list');
      }
      return { op: 'in', field: f.v, negate, values };
    }
    if (isWord('LIKE')) {
      i++;
      const v = literal();
      if (v.kind !== 'string') throw new SoqlError('LIKE needs a string');
      return { op: 'like', field: f.v, pattern: v.value };
    }
    const op = next();
    if (op.t !== 'sym' || !['=', '!=', '<>', '<', '<=', '>', '>='].includes(op.v)) throw new SoqlError(`unexpected operator ${op.v}`);
    return { op: 'cmp', field: f.v, cmp: (op.v === '<>' ? '!=' : op.v) as '=', value: literal() };
  };
  const andExpr = (): Condition => {
    const items = [primary()];
    while (isWord('AND')) {
      i++;
      items.push(primary());
    }
    return items.length === 1 ? (items[0] as Condition) : { op: 'and', items };
  };
  const orExpr = (): Condition => {
    const items = [andExpr()];
    while (isWord('OR')) {
      i++;
      items.push(andExpr());
    }
    return items.length === 1 ? (items[0] as Condition) : { op: 'or', items };
  };

  while (i < toks.length) {
    if (isWord('WHERE')) {
      i++;
      where = orExpr();
    } else if (isWord('ORDER')) {
      i++;
      expectWord('BY');
      for (;;) {
        const f = next();
        let desc = false;
        if (isWord('ASC')) i++;
        else if (isWord('DESC')) {
          i++;
          desc = true;
        }
        if (isWord('NULLS')) i += 2;
        orderBy.push({ field: f.v, desc });
        if (peek()?.v !== ',') break;
        i++;
      }
    } else if (isWord('LIMIT')) {
      i++;
      limit = Number(next().v);
    } else if (isWord('GROUP')) {
      bulkUnsupported ??= 'GROUP BY';
      throw new SoqlError('GROUP BY is not supported by this fake');
    } else if (isWord('OFFSET')) {
      bulkUnsupported ??= 'OFFSET';
      i += 2;
    } else throw new SoqlError(`unexpected ${peek()?.v}`);
  }
  return { fields, from: from.v, where, orderBy, limit, bulkUnsupported };
}

export type Resolve = (path: string) => unknown;

function compare(a: unknown, b: Literal): number | null {
  if (a === null || a === undefined || b.kind === 'null') return null;
  if (b.kind === 'datetime') {
    const t = typeof a === 'string' ? Date.parse(a) : Number.NaN;
    return Number.isNaN(t) ? null : t - b.value;
  }
  if (b.kind === 'number') return Number(a) - b.value;
  if (b.kind === 'bool') return a === b.value ? 0 : 1;
  const s = String(a);
  return s < b.value ? -1 : s > b.value ? 1 : 0;
}

function equals(a: unknown, b: Literal): boolean {
  if (b.kind === 'null') return a === null || a === undefined;
  if (b.kind === 'string' && typeof a === 'string') return a.toLowerCase() === b.value.toLowerCase();
  return compare(a, b) === 0;
}

export function evaluate(c: Condition, get: Resolve): boolean {
  switch (c.op) {
    case 'and':
      return c.items.every((x) => evaluate(x, get));
    case 'or':
      return c.items.some((x) => evaluate(x, get));
    case 'not':
      return !evaluate(c.item, get);
    case 'in': {
      const v = get(c.field);
      const hit = c.values.some((x) => equals(v, x));
      return c.negate ? !hit : hit;
    }
    case 'like': {
      const v = get(c.field);
      if (typeof v !== 'string') return false;
      const re = new RegExp(
        `^${c.pattern
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/%/g, '.*')
          .replace(/_/g, '.')}$`,
        'i',
      );
      return re.test(v);
    }
    case 'cmp': {
      const v = get(c.field);
      if (c.cmp === '=') return equals(v, c.value);
      if (c.cmp === '!=') return !equals(v, c.value);
      const d = compare(v, c.value);
      if (d === null) return false;
      return c.cmp === '<' ? d < 0 : c.cmp === '<=' ? d <= 0 : c.cmp === '>' ? d > 0 : d >= 0;
    }
  }
}

/** Every field a condition reads (to refuse unknown columns as Salesforce does). */
export function conditionFields(c: Condition | null): string[] {
  if (c === null) return [];
  if (c.op === 'and' || c.op === 'or') return c.items.flatMap(conditionFields);
  if (c.op === 'not') return conditionFields(c.item);
  if (c.op === 'cmp' || c.op === 'in' || c.op === 'like') return [c.field];
  return [];
}

/** `Id > 'x'` at the top level of the WHERE clause: where an Id-ordered scan may start. */
export function idLowerBound(c: Condition | null): string | null {
  if (c === null) return null;
  if (c.op === 'cmp' && c.field === 'Id' && (c.cmp === '>' || c.cmp === '>=') && c.value.kind === 'string') return c.value.value;
  if (c.op === 'and')
    for (const x of c.items) {
      const b = idLowerBound(x);
      if (b !== null) return b;
    }
  return null;
}
