/**
 * The properties API (`/crm/v3/properties/{objectType}…`): property groups and custom properties
 * per object type, answered in the specs' `PropertyGroup` and `Property` shapes; HubSpot-defined
 * properties answer too, read-only.
 */
import { DEFAULT_PROPERTIES, ENUMERATIONS, type ObjectType, objectType } from './fake-catalogue.js';
import { HsError } from './fake-errors.js';
import type { FakePortal } from './fake-portal.js';

const TYPES = ['bool', 'date', 'datetime', 'enumeration', 'number', 'phone_number', 'string'];
const FIELD_TYPES = [
  'booleancheckbox',
  'calculation_equation',
  'checkbox',
  'date',
  'file',
  'html',
  'number',
  'phonenumber',
  'radio',
  'select',
  'text',
  'textarea',
];

/** Whether a write may name `name` on `type` (HubSpot-defined or created through the API). */
export function propertyExists(portal: FakePortal, type: ObjectType, name: string): boolean {
  return DEFAULT_PROPERTIES[type].includes(name) || portal.schema[type].properties.has(name);
}

/** A HubSpot-defined property as the API describes it. */
function hubspotDefined(type: ObjectType, name: string): Record<string, unknown> {
  const options = ENUMERATIONS[type]?.[name];
  return {
    name,
    label: name,
    description: '',
    groupName: type === 'contacts' ? 'contactinformation' : `${type.replace(/s$/, '')}information`,
    type: options ? 'enumeration' : 'string',
    fieldType: options ? 'select' : 'text',
    options: (options ?? []).map((value, displayOrder) => ({ value, label: value, displayOrder, hidden: false })),
    hubspotDefined: true,
    archived: false,
    hidden: false,
    calculated: false,
    hasUniqueValue: name === 'email',
    formField: false,
  };
}

export function propertyRoutes(
  portal: FakePortal,
  method: string,
  path: string,
  body: Record<string, unknown>,
  at: string,
): { status: number; body: unknown } | null {
  const m = /^\/crm\/v3\/properties\/([\w-]+)(\/groups)?(?:\/([^/]+))?$/.exec(path);
  if (m === null) return null;
  const type = objectType(m[1] as string);
  if (type === undefined) throw new HsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${m[1]}`);
  const schema = portal.schema[type];
  const name = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
  if (m[2] !== undefined) {
    if (name === undefined && method === 'POST') {
      const g = { name: String(body.name), label: String(body.label ?? body.name), displayOrder: Number(body.displayOrder ?? -1) };
      if (schema.groups.has(g.name)) throw new HsError(409, 'OBJECT_ALREADY_EXISTS', `A property group named '${g.name}' already exists.`);
      schema.groups.set(g.name, g);
      return { status: 201, body: { ...g, archived: false } };
    }
    if (name !== undefined && method === 'GET') {
      const g = schema.groups.get(name);
      if (g === undefined) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      return { status: 200, body: { ...g, archived: false } };
    }
    return null;
  }
  if (name === undefined && method === 'POST') {
    const pname = String(body.name);
    if (schema.properties.has(pname) || DEFAULT_PROPERTIES[type].includes(pname))
      throw new HsError(409, 'OBJECT_ALREADY_EXISTS', `A property named '${pname}' already exists.`);
    if (!schema.groups.has(String(body.groupName)))
      throw new HsError(400, 'VALIDATION_ERROR', `group ${String(body.groupName)} does not exist`, {
        context: { groupName: [String(body.groupName)] },
      });
    if (!TYPES.includes(String(body.type)) || !FIELD_TYPES.includes(String(body.fieldType)))
      throw new HsError(400, 'VALIDATION_ERROR', `invalid type/fieldType ${String(body.type)}/${String(body.fieldType)}`);
    const prop = {
      description: '',
      ...body,
      name: pname,
      createdAt: at,
      updatedAt: at,
      archived: false,
      hidden: false,
      calculated: false,
      hasUniqueValue: body.hasUniqueValue === true,
      hubspotDefined: false,
      options: body.options ?? [],
    };
    schema.properties.set(pname, prop);
    return { status: 201, body: prop };
  }
  if (name !== undefined && method === 'GET') {
    const prop = schema.properties.get(name) ?? (DEFAULT_PROPERTIES[type].includes(name) ? hubspotDefined(type, name) : undefined);
    if (prop === undefined) throw new HsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    return { status: 200, body: prop };
  }
  return null;
}
