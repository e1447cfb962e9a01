/** One HubSpot account in the fake: its records, its property definitions, its callbacks and its rate windows. */
import { OBJECT_TYPES, type ObjectType } from './fake-catalogue.js';

export interface FakeObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** associated contact ids (tickets, deals, invoices, communications, notes) */
  contacts: string[];
}

export interface FakePropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
}

export interface FakeSchema {
  groups: Map<string, FakePropertyGroup>;
  /** custom properties, by name, as the properties API answers them */
  properties: Map<string, Record<string, unknown>>;
}

export interface FakePortal {
  id: number;
  objects: Record<string, Map<string, FakeObject>>;
  /** property groups and custom properties per object type */
  schema: Record<ObjectType, FakeSchema>;
  /** the contacts' property groups (the same map as `schema.contacts.groups`) */
  groups: Map<string, FakePropertyGroup>;
  /** the contacts' custom properties (the same map as `schema.contacts.properties`) */
  properties: Map<string, Record<string, unknown>>;
  /** callback id → the output fields it was completed with */
  completedCallbacks: Map<string, Record<string, unknown>>;
  /** request times in the ten-second rolling window */
  window: number[];
  /** search request times in the per-second window */
  searchWindow: number[];
  uninstalled: boolean;
}

export function newPortal(id: number): FakePortal {
  const schema = Object.fromEntries(OBJECT_TYPES.map((t) => [t, { groups: new Map(), properties: new Map() }])) as Record<
    ObjectType,
    FakeSchema
  >;
  return {
    id,
    objects: Object.fromEntries(OBJECT_TYPES.map((t) => [t, new Map<string, FakeObject>()])),
    schema,
    groups: schema.contacts.groups,
    properties: schema.contacts.properties,
    completedCallbacks: new Map(),
    window: [],
    searchWindow: [],
    uninstalled: false,
  };
}

/** Creates or updates a record as HubSpot would stamp it (ids, dates); `contacts` are added to its associations. */
export function writeObject(
  store: Map<string, FakeObject>,
  id: string,
  properties: Record<string, string | null>,
  contacts: readonly string[],
  at: string,
): FakeObject {
  const existing = store.get(id);
  const obj: FakeObject = existing
    ? {
        ...existing,
        properties: { ...existing.properties, ...properties, lastmodifieddate: at, hs_lastmodifieddate: at },
        updatedAt: at,
        contacts: [...new Set([...existing.contacts, ...contacts])],
      }
    : {
        id,
        properties: { ...properties, hs_object_id: id, createdate: at, lastmodifieddate: at, hs_lastmodifieddate: at },
        createdAt: at,
        updatedAt: at,
        archived: false,
        contacts: [...contacts],
      };
  store.set(id, obj);
  return obj;
}

/** A record as the CRM API answers it: the asked-for properties (or the defaults) and, if asked, its contacts. */
export function view(
  o: FakeObject,
  properties: readonly string[] | null,
  associations: readonly string[] = [],
  type: ObjectType | null = null,
): Record<string, unknown> {
  const props: Record<string, string | null> = {};
  const wanted = properties ?? ['createdate', 'hs_object_id', 'lastmodifieddate', 'email', 'firstname', 'lastname'];
  for (const k of [...wanted, 'createdate', 'hs_object_id', 'lastmodifieddate']) if (k in o.properties) props[k] = o.properties[k] ?? null;
  const out: Record<string, unknown> = {
    id: o.id,
    properties: props,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    archived: o.archived,
  };
  if (associations.includes('contacts') && o.contacts.length > 0 && type !== null) {
    const label = `${type.replace(/s$/, '')}_to_contact`;
    out.associations = { contacts: { results: o.contacts.map((id) => ({ id, type: label })) } };
  }
  return out;
}
