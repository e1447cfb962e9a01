import { type Compilable, type CompiledQuery, type Kysely, type QueryResult, sql } from 'kysely';
import type { Conn } from './connection.js';
import { markHot } from './named-statements.js';

/**
 * Hot statements built and compiled once per dialect, then run with new parameters: Kysely
 * otherwise builds an immutable query tree and compiles it to SQL on every call, which measured
 * more of the worker's time than SQLite itself spends on most of these statements. The query is
 * written once for both dialects, as everywhere else; `arg(i)` stands for the i-th argument.
 */
const MARK = '\u0000sb-arg:';

/** Stands for the i-th argument of a prepared statement (typed as whatever the column wants). */
// biome-ignore lint/suspicious/noExplicitAny: a placeholder stands in for a value of any column's type
export function arg(i: number): any {
  return `${MARK}${i}`;
}

interface Prepared {
  compiled: CompiledQuery;
  /** Per parameter: an argument index, or a constant the query itself holds. */
  params: Array<{ arg: number } | { value: unknown }>;
}

const cache = new Map<string, Prepared>();

function prepare(dialect: string, key: string, build: () => Compilable<unknown>): Prepared {
  const cacheKey = `${dialect}\u0000${key}`;
  let p = cache.get(cacheKey);
  if (p === undefined) {
    const compiled = build().compile();
    if (dialect === 'postgres') markHot(compiled.sql);
    p = {
      compiled,
      params: compiled.parameters.map((v) =>
        typeof v === 'string' && v.startsWith(MARK) ? { arg: Number(v.slice(MARK.length)) } : { value: v },
      ),
    };
    // shapes are few and fixed; a key that varies with the data would be a bug, and is not kept
    if (cache.size < 1000) cache.set(cacheKey, p);
  }
  return p;
}

/**
 * Runs the statement `build` describes (built with `arg(i)` in place of values) with `args`.
 * `key` names the statement's shape: two builders with different shapes need different keys.
 */
export function runPrepared<R>(
  // biome-ignore lint/suspicious/noExplicitAny: runs on any Kysely instance or transaction
  db: Kysely<any>,
  dialect: string,
  key: string,
  build: () => Compilable<R>,
  args: readonly unknown[],
): Promise<QueryResult<R>> {
  const p = prepare(dialect, key, build as () => Compilable<unknown>);
  const parameters = p.params.map((x) => ('arg' in x ? args[x.arg] : x.value));
  return db.executeQuery<R>({ ...p.compiled, parameters } as CompiledQuery<R>);
}

/** `runPrepared` on a repository's connection: `build` gets the connection's Kysely handle. */
export function prepared<R>(
  c: Conn,
  key: string,
  build: (db: Conn['db']) => Compilable<R>,
  args: readonly unknown[],
): Promise<QueryResult<R>> {
  return runPrepared(c.db, c.dialect, key, () => build(c.db), args);
}

/**
 * A list of values for a prepared statement: `column` is one of them. PostgreSQL binds the list as
 * one array (`= any($n)`: one statement text, so one named statement, whatever its length);
 * SQLite has no arrays, so its list is spread over `in (…)`, one text per length (`key`). `at`
 * is the list's first argument; the list's arguments (`args`) go last.
 */
export function oneOf(c: Pick<Conn, 'dialect'>, values: readonly unknown[], at: number, type: 'text' | 'bigint' = 'text') {
  const pg = c.dialect === 'postgres';
  return {
    /** Part of the statement's key: the statement text differs with the list's length on SQLite only. */
    key: pg ? 'list' : `list ${values.length}`,
    /** The condition, on `column` (a column reference as SQL). */
    on: (column: string) =>
      pg
        ? sql<boolean>`${sql.ref(column)} = any(${arg(at)}::${sql.raw(type)}[])`
        : sql<boolean>`${sql.ref(column)} in (${sql.join(values.map((_, i) => arg(at + i)))})`,
    args: pg ? [values] : values,
  };
}
