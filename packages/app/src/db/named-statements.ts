import pg from 'pg';

/**
 * PostgreSQL parses and plans an unnamed statement every time it is sent; a named one is parsed
 * once per connection and then only bound and run (and the client skips sending its text). The
 * worker runs a few dozen statement shapes millions of times, so each parametrised shape gets a
 * name, the same on every connection (the client remembers per connection what it has prepared).
 *
 * Left unnamed: statements without parameters (simple protocol, e.g. BEGIN), those whose result
 * columns depend on the table (`*`: a column added by a later migration would make a prepared
 * statement fail with "cached plan must not change result type"), and shapes beyond the first
 * `MAX_NAMES` (lists of varying length make new texts; each name costs the server a little
 * memory per connection).
 */
const MAX_NAMES = 2000;

const names = new Map<string, string>();

export function statementName(text: string): string | null {
  let name = names.get(text);
  if (name !== undefined) return name;
  if (names.size >= MAX_NAMES || /(?:select|returning)\s+\*|\.\*/i.test(text)) return null;
  name = `sb${names.size.toString(36)}`;
  names.set(text, name);
  return name;
}

/** A pg client that names every parametrised statement Kysely sends (see above). */
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
