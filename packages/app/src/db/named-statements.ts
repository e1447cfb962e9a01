import pg from 'pg';

/**
 * PostgreSQL parses and plans an unnamed statement every time it is sent; a named one is parsed
 * once per connection and then only bound and run (and the client skips sending its text). The
 * hot statements — those built once through `prepared()` (db/prepared.ts), a few dozen shapes run
 * millions of times — each get a name, the same on every connection (the client remembers per
 * connection what it has prepared). Everything else goes unnamed: a statement whose text varies
 * with its data (lists of any length) would fill the server's memory with plans never used again.
 *
 * Left unnamed too: statements whose result columns depend on the table (`*`: a column added by
 * a later migration would make a prepared statement fail with "cached plan must not change result
 * type"; hot statements name their columns, see COLUMNS in schema.ts).
 */
const MAX_NAMES = 1000;

const hot = new Set<string>();
const names = new Map<string, string>();

/** A statement `prepared()` built: worth a name. */
export function markHot(text: string): void {
  if (hot.size < MAX_NAMES && !/(?:select|returning)\s+\*|\.\*/i.test(text)) hot.add(text);
}

export function statementName(text: string): string | null {
  let name = names.get(text);
  if (name !== undefined) return name;
  if (!hot.has(text)) return null;
  name = `sb${names.size.toString(36)}`;
  names.set(text, name);
  return name;
}

/** A pg client that names the hot statements Kysely sends (see above). */
export class NamingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() is overloaded many ways; only one shape is rewritten
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && typeof callback !== 'function') {
      const name = statementName(config);
      if (name !== null) return super.query({ name, text: config, values });
    }
    return super.query(config, values, callback);
  }
}
