import { toId18 } from './ids.js';

/** A string literal for SOQL (backslash and quote escaped). */
export function soqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A record id for SOQL, refusing anything that is not one (ids reach queries from the outside). */
export function soqlId(id: string): string {
  const full = toId18(id);
  if (full === null) throw new TypeError(`not a Salesforce id: ${JSON.stringify(id).slice(0, 40)}`);
  return `'${full}'`;
}

/** A SOQL date-time literal (unquoted, UTC). */
export function soqlDateTime(iso: string | number): string {
  return new Date(iso).toISOString();
}
