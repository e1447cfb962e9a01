/**
 * The CRM objects API (`/crm/v3/objects/{objectType}…`): get, page, search, create with
 * associations, update, batch read (207 with `errors[]` for ids it cannot find) and batch upsert.
 * Writes are checked as HubSpot checks them: every property must exist on the object type
 * (`PROPERTY_DOESNT_EXIST`), enumeration values must be options (`INVALID_OPTION`), association
 * type ids must go from this object type to an existing record (`INVALID_ASSOCIATION_TYPE`).
 */
import { ASSOCIATION_TYPES, ENUMERATIONS, type ObjectType, objectType, singular } from './fake-catalogue.js';
import { HsError, type InvalidValue, invalidAssociationType, invalidPropertyValues, propertyDoesntExist } from './fake-errors.js';
import { type FakeObject, type FakePortal, view, writeObject } from './fake-portal.js';
import { propertyExists } from './fake-properties.js';
import { search } from './fake-search.js';

export interface ObjectsContext {
  portal: FakePortal;
  /** now, as HubSpot stamps records */
  at: string;
  nextId: () => string;
}

type Answer = { status: number; body: unknown };

const BATCH_MAX = 100;

function store(portal: FakePortal, raw: string): { type: ObjectType; records: Map<string, FakeObject> } {
  const type = objectType(raw);
  const records = type === undefined ? undefined : portal.objects[type];
  if (type === undefined || records === undefined) throw new HsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw}`);
  return { type, records };
}

/** HubSpot's refusal of property values a write names, or nothing. */
function checkWrite(portal: FakePortal, type: ObjectType, props: Record<string, unknown>): void {
  const invalid: InvalidValue[] = [];
  for (const [name, value] of Object.entries(props)) {
    if (!propertyExists(portal, type, name)) {
      invalid.push(propertyDoesntExist(name));
      continue;
    }
    const options = ENUMERATIONS[type]?.[name];
    if (options && !options.includes(String(value)))
      invalid.push({
        name,
        code: 'INVALID_OPTION',
        message: `${JSON.stringify(String(value))} was not one of the allowed options: ${options.join(', ')}`,
      });
  }
  if (invalid.length > 0) throw invalidPropertyValues(portal.id, invalid);
}

function batchInputs<T>(body: Record<string, unknown>): T[] {
  const inputs = (body.inputs as T[] | undefined) ?? [];
  if (inputs.length > BATCH_MAX) throw new HsError(400, 'VALIDATION_ERROR', `Batch input size exceeds the maximum of ${BATCH_MAX}`);
  return inputs;
}

const find = (records: Map<string, FakeObject>, key: string, idProperty: string | null) =>
  idProperty && idProperty !== 'hs_object_id' ? [...records.values()].find((o) => o.properties[idProperty] === key) : records.get(key);

/** The contacts a create's `associations` point at, after HubSpot's checks. */
function associatedContacts(portal: FakePortal, type: ObjectType, associations: unknown): string[] {
  const list =
    (associations as Array<{ to: { id: string }; types: Array<{ associationCategory?: string; associationTypeId: number }> }>) ?? [];
  const contacts: string[] = [];
  for (const a of list) {
    for (const t of a.types) {
      const def = ASSOCIATION_TYPES.get(t.associationTypeId);
      if (t.associationCategory !== 'HUBSPOT_DEFINED' || def === undefined || def.from !== type)
        throw invalidAssociationType(t.associationTypeId, singular(type).toUpperCase(), null);
      if (!portal.objects[def.to]?.has(String(a.to.id)))
        throw new HsError(400, 'VALIDATION_ERROR', `One or more associations are invalid: ${singular(def.to)} ${a.to.id} does not exist`, {
          context: { toObjectId: [String(a.to.id)] },
        });
      if (def.to === 'contacts') contacts.push(String(a.to.id));
    }
  }
  return contacts;
}

export function objectRoutes(ctx: ObjectsContext, method: string, url: URL, body: Record<string, unknown>): Answer | null {
  const m = /^\/crm\/v3\/objects\/([\w-]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(url.pathname);
  if (m === null) return null;
  const { type, records } = store(ctx.portal, m[1] as string);
  const list = (k: string) =>
    url.searchParams
      .getAll(k)
      .flatMap((v) => v.split(','))
      .filter((v) => v !== '');
  const [, , second, third] = m;

  if (second === 'search' && third === undefined && method === 'POST') return { status: 200, body: search(records, body) };

  if (second === 'batch' && third === 'read' && method === 'POST') {
    const inputs = batchInputs<{ id: string }>(body);
    const idProperty = (body.idProperty as string | undefined) ?? null;
    const props = (body.properties as string[] | undefined) ?? null;
    const found: FakeObject[] = [];
    const missing: string[] = [];
    for (const i of inputs) {
      const o = find(records, String(i.id), idProperty);
      if (o === undefined || o.archived) missing.push(String(i.id));
      else found.push(o);
    }
    const answer = { status: 'COMPLETE', results: found.map((o) => view(o, props)), startedAt: ctx.at, completedAt: ctx.at };
    if (missing.length === 0) return { status: 200, body: answer };
    const label = singular(type).toUpperCase();
    const error = {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: `Could not get some ${label} objects, they may be deleted or not exist. Check that ids are valid.`,
      context: { ids: missing },
      links: {},
      errors: [],
    };
    return { status: 207, body: { ...answer, numErrors: 1, errors: [error] } };
  }

  if (second === 'batch' && third === 'upsert' && method === 'POST') {
    const inputs = batchInputs<{ id: string; idProperty?: string; properties: Record<string, string> }>(body);
    for (const i of inputs) {
      const prop = i.idProperty ?? 'hs_object_id';
      const unique = prop === 'hs_object_id' || prop === 'email' || ctx.portal.schema[type].properties.get(prop)?.hasUniqueValue === true;
      if (!unique) throw new HsError(400, 'VALIDATION_ERROR', `${prop} is not a unique property and cannot be used as idProperty`);
      checkWrite(ctx.portal, type, i.properties ?? {});
    }
    const results = inputs.map((i) => {
      const prop = i.idProperty ?? 'hs_object_id';
      const existing = find(records, String(i.id), prop);
      const props = prop === 'hs_object_id' ? i.properties : { ...i.properties, [prop]: String(i.id) };
      const o = writeObject(records, existing?.id ?? ctx.nextId(), props, [], ctx.at);
      return { ...view(o, Object.keys(i.properties)), new: existing === undefined };
    });
    return { status: 200, body: { status: 'COMPLETE', results, startedAt: ctx.at, completedAt: ctx.at } };
  }

  if (second === undefined && method === 'GET') {
    // a page of up to 100, ordered by id; `after` is the last id seen
    const limit = Number(url.searchParams.get('limit') ?? 10);
    if (limit > 100) throw new HsError(400, 'VALIDATION_ERROR', 'limit must be at most 100');
    const after = Number(url.searchParams.get('after') ?? 0);
    const rows = [...records.values()].filter((o) => !o.archived && Number(o.id) > after).sort((a, b) => Number(a.id) - Number(b.id));
    const page = rows.slice(0, limit);
    const props = list('properties').length ? list('properties') : null;
    const last = page.at(-1);
    return {
      status: 200,
      body: {
        results: page.map((o) => view(o, props, list('associations'), type)),
        ...(rows.length > limit && last ? { paging: { next: { after: last.id } } } : {}),
      },
    };
  }

  if (second === undefined && method === 'POST') {
    const props = (body.properties as Record<string, string> | undefined) ?? {};
    checkWrite(ctx.portal, type, props);
    const contacts = associatedContacts(ctx.portal, type, body.associations);
    const o = writeObject(records, ctx.nextId(), props, contacts, ctx.at);
    return { status: 201, body: view(o, Object.keys(props)) };
  }

  if (second !== undefined && third === undefined && (method === 'GET' || method === 'PATCH')) {
    const o = find(records, decodeURIComponent(second), url.searchParams.get('idProperty'));
    if (o === undefined || o.archived) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    if (method === 'GET')
      return { status: 200, body: view(o, list('properties').length ? list('properties') : null, list('associations'), type) };
    const props = (body.properties as Record<string, string> | undefined) ?? {};
    checkWrite(ctx.portal, type, props);
    return { status: 200, body: view(writeObject(records, o.id, props, [], ctx.at), Object.keys(props)) };
  }
  return null;
}
