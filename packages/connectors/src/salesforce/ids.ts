/**
 * Salesforce record ids: 15 characters, case-sensitive, or 18 with a case-insensitive checksum.
 * We key everything by the 18-character form, because Outbound Messages, the OAuth `id` URL and
 * `UserInfo.getOrganizationId()` all give 18, while people paste 15 from the address bar.
 */
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

/** The checksum suffix of a 15-character id. */
function checksum(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let n = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) n |= 1 << i;
    }
    out += SUFFIX[n];
  }
  return out;
}

/** The 18-character form of a 15- or 18-character id, or null when it is not an id at all. */
export function toId18(id: string): string | null {
  if (!ID.test(id)) return null;
  const base = id.slice(0, 15);
  const full = base + checksum(base);
  // an 18-character id whose suffix does not match its first 15 characters was mistyped
  return id.length === 18 && id !== full ? null : full;
}

/** True for an Organization id (key prefix `00D`) in either form. */
export function isOrgId(id: string): boolean {
  return id.startsWith('00D') && toId18(id) !== null;
}

/** The same record, whatever form each side wrote its id in. */
export function sameId(a: string, b: string): boolean {
  const x = toId18(a);
  return x !== null && x === toId18(b);
}
