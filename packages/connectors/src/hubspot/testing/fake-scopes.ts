/**
 * Which OAuth scope each route the fake serves needs, as HubSpot's specs declare it (the
 * conformance test checks the scope each route names against conformance/operations.ts): a call
 * is allowed when the token holds any one of the listed scopes.
 */

/** Per object type: the scopes that read it and the scopes that write it. */
const OBJECT_SCOPES: Record<string, { read: string[]; write: string[] }> = {
  contacts: { read: ['crm.objects.contacts.read'], write: ['crm.objects.contacts.write'] },
  // engagements are read and written with the contact scopes (communications and notes specs)
  communications: { read: ['crm.objects.contacts.read'], write: ['crm.objects.contacts.write'] },
  notes: { read: ['crm.objects.contacts.read'], write: ['crm.objects.contacts.write'] },
  tickets: { read: ['tickets'], write: ['tickets'] },
  deals: { read: ['crm.objects.deals.read'], write: ['crm.objects.deals.write'] },
  invoices: { read: ['crm.objects.invoices.read'], write: ['crm.objects.invoices.write'] },
};

/** Property definitions of an object type: written with its schema scope, read with any of its read scopes. */
const SCHEMA_SCOPES: Record<string, { read: string[]; write: string[] }> = {
  contacts: { read: ['crm.objects.contacts.read', 'crm.schemas.contacts.read'], write: ['crm.schemas.contacts.write'] },
  tickets: { read: ['tickets', 'crm.schemas.tickets.read'], write: ['tickets', 'crm.schemas.tickets.write'] },
  deals: { read: ['crm.objects.deals.read', 'crm.schemas.deals.read'], write: ['crm.schemas.deals.write'] },
  invoices: { read: ['crm.objects.invoices.read', 'crm.schemas.invoices.read'], write: ['crm.schemas.invoices.write'] },
};

/** Every scope an install can be granted here; the fake grants them all unless a test says otherwise. */
export const ALL_SCOPES: readonly string[] = [
  ...new Set([
    'oauth',
    'automation',
    'crm.export',
    ...Object.values(OBJECT_SCOPES).flatMap((s) => [...s.read, ...s.write]),
    ...Object.values(SCHEMA_SCOPES).flatMap((s) => [...s.read, ...s.write]),
  ]),
];

/**
 * The scopes that allow `method path` (any one of them), or null when the route needs none beyond
 * a valid token. `type` is the object type already resolved from its alias (`0-1` → `contacts`).
 */
export function scopesFor(method: string, path: string, type: (raw: string) => string | undefined): readonly string[] | null {
  if (/^\/automation\/v4\/actions\/callbacks\//.test(path)) return ['automation'];
  // the exports API (HubSpot: only a Super Admin can grant it)
  if (/^\/crm\/v3\/exports\//.test(path)) return ['crm.export'];
  const props = /^\/crm\/v3\/properties\/([\w-]+)/.exec(path);
  if (props) {
    const s = SCHEMA_SCOPES[type(props[1] as string) ?? ''];
    return s ? (method === 'GET' ? s.read : s.write) : null;
  }
  const objects = /^\/crm\/v3\/objects\/([\w-]+)(\/.*)?$/.exec(path);
  if (objects) {
    const s = OBJECT_SCOPES[type(objects[1] as string) ?? ''];
    if (s === undefined) return null;
    const rest = objects[2] ?? '';
    const reads = method === 'GET' || rest === '/search' || rest === '/batch/read';
    return reads ? s.read : s.write;
  }
  return null;
}
