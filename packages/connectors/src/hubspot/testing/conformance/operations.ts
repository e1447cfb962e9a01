/**
 * Every HubSpot endpoint the fake serves and the conformance checks call: its method and path, the
 * scopes HubSpot lets it be called with, and per status the shape of the answer (`null`: no body).
 * A status not listed is one HubSpot does not answer that call with. Written for this project
 * from HubSpot's OpenAPI spec collection and docs (see shapes.ts and specs/README.md); `spec`
 * names the HubSpot spec the operation is described in (its upstream path: SPEC_PATHS), `doc` a
 * HubSpot page about it.
 */
import type { SchemaObject } from 'ajv';
import * as s from './shapes.js';

/** HubSpot's spec files (HubSpot-public-api-spec-collection @ 99893791, under `PublicApiSpecs/`) the operations come from. */
export const SPEC_PATHS = {
  'oauth-v1': 'Auth/Oauth/Rollouts/155908/v1/oauth.json',
  'oauth-v3': 'Auth/Oauth/Rollouts/279897/v3/oauth.json',
  'oauth-2026-03': 'Auth/Oauth/Rollouts/279897/2026-03/oauth.json',
  'contacts-v3': 'CRM/Contacts/Rollouts/424/v3/contacts.json',
  'tickets-v3': 'CRM/Tickets/Rollouts/424/v3/tickets.json',
  'deals-v3': 'CRM/Deals/Rollouts/424/v3/deals.json',
  'invoices-v3': 'CRM/Invoices/Rollouts/424/v3/invoices.json',
  'communications-v3': 'CRM/Communications/Rollouts/424/v3/communications.json',
  'notes-v3': 'CRM/Notes/Rollouts/424/v3/notes.json',
  'properties-v3': 'CRM/Properties/Rollouts/145899/v3/properties.json',
  'actions-v4': 'Automation/Actions V4/Rollouts/148901/v4/actionsV4.json',
  'exports-v3': 'CRM/Exports/Rollouts/95922/v3/exports.json',
} as const;
export type SpecName = keyof typeof SPEC_PATHS;

export interface Operation {
  spec: SpecName;
  /** HubSpot's name for the operation in its spec. */
  operationId: string;
  method: string;
  /** The path, `{name}` for a parameter. */
  template: string;
  /** Any one of these allows the call; empty for the token endpoints (no token needed). */
  scopes: readonly string[];
  responses: Readonly<Record<number, SchemaObject | null>>;
  doc: string;
}

const OAUTH = 'https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide';
const CONTACTS = 'https://developers.hubspot.com/docs/api/crm/contacts';
const SEARCH = 'https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm';
const PROPERTIES = 'https://developers.hubspot.com/docs/api/crm/properties';
const EXPORTS = 'https://developers.hubspot.com/docs/api/crm/exports';
const CALLBACKS =
  'https://developers.hubspot.com/docs/api-reference/automation-actions-v4-v4/callbacks/post-automation-v4-actions-callbacks-callbackId-complete';

/**
 * What any authenticated call can be answered with: a bad or expired token, a token without the
 * scope, a rate limit (HubSpot's error-handling page lists these as common to its APIs).
 */
const AUTHENTICATED = { 401: s.authenticationError, 403: s.missingScopesError, 429: s.rateLimitError } as const;

/** The token endpoints: a token, or an OAuth error (bad code, refresh token or client). */
const tokenEndpoint = (spec: SpecName, template: string, operationId: string): Operation => ({
  spec,
  operationId,
  method: 'POST',
  template,
  scopes: [],
  responses: { 200: s.accessToken, 400: s.oauthError, 429: s.rateLimitError },
  doc: OAUTH,
});

const getRecord = (spec: SpecName, template: string, operationId: string, scope: string, doc: string): Operation => ({
  spec,
  operationId,
  method: 'GET',
  template,
  scopes: [scope],
  responses: { 200: s.recordWithAssociations, 404: s.error, ...AUTHENTICATED },
  doc,
});

const createRecord = (spec: SpecName, template: string, operationId: string, doc: string): Operation => ({
  spec,
  operationId,
  method: 'POST',
  template,
  // engagements are written with the contact scope (communications and notes specs)
  scopes: ['crm.objects.contacts.write'],
  responses: { 201: s.record, 400: s.validationError, ...AUTHENTICATED },
  doc,
});

/**
 * HubSpot lists one scope per object type for the properties endpoints (the object type is a path
 * parameter); these are the ones for the object types the fake serves.
 */
const PROPERTY_READ_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.schemas.contacts.read',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'crm.schemas.deals.read',
  'crm.objects.invoices.read',
  'crm.objects.invoices.write',
  'crm.schemas.invoices.read',
  'crm.schemas.tickets.read',
  'tickets',
];
const PROPERTY_WRITE_SCOPES = [
  'crm.schemas.contacts.write',
  'crm.schemas.deals.write',
  'crm.schemas.invoices.write',
  'crm.schemas.tickets.write',
  'tickets',
];

export const OPERATIONS: readonly Operation[] = [
  tokenEndpoint('oauth-v1', '/oauth/v1/token', 'post-/oauth/v1/token_create'),
  tokenEndpoint('oauth-v3', '/oauth/v3/token', 'post-/oauth/v3/token_/oauth/v3/token'),
  tokenEndpoint('oauth-2026-03', '/oauth/2026-03/token', 'post-/oauth/2026-03/token_/oauth/v3/token'),

  getRecord(
    'contacts-v3',
    '/crm/v3/objects/contacts/{contactId}',
    'get-/crm/v3/objects/contacts/{contactId}_getById',
    'crm.objects.contacts.read',
    CONTACTS,
  ),
  {
    spec: 'contacts-v3',
    operationId: 'get-/crm/v3/objects/contacts_getPage',
    method: 'GET',
    template: '/crm/v3/objects/contacts',
    scopes: ['crm.objects.contacts.read'],
    responses: { 200: s.recordPage, 400: s.validationError, ...AUTHENTICATED },
    doc: CONTACTS,
  },
  {
    spec: 'contacts-v3',
    operationId: 'patch-/crm/v3/objects/contacts/{contactId}_update',
    method: 'PATCH',
    template: '/crm/v3/objects/contacts/{contactId}',
    scopes: ['crm.objects.contacts.write'],
    responses: { 200: s.record, 400: s.validationError, 404: s.error, ...AUTHENTICATED },
    doc: CONTACTS,
  },
  {
    spec: 'contacts-v3',
    operationId: 'post-/crm/v3/objects/contacts/search_doSearch',
    method: 'POST',
    template: '/crm/v3/objects/contacts/search',
    scopes: ['crm.objects.contacts.read'],
    responses: { 200: s.searchPage, 400: s.validationError, ...AUTHENTICATED },
    doc: SEARCH,
  },
  {
    spec: 'contacts-v3',
    operationId: 'post-/crm/v3/objects/contacts/batch/read_read',
    method: 'POST',
    template: '/crm/v3/objects/contacts/batch/read',
    scopes: ['crm.objects.contacts.read'],
    responses: { 200: s.batch, 207: s.batchWithErrors, 400: s.validationError, ...AUTHENTICATED },
    doc: CONTACTS,
  },
  {
    spec: 'contacts-v3',
    operationId: 'post-/crm/v3/objects/contacts/batch/upsert_upsert',
    method: 'POST',
    template: '/crm/v3/objects/contacts/batch/upsert',
    scopes: ['crm.objects.contacts.write'],
    responses: { 200: s.batchUpsert, 207: s.batchUpsertWithErrors, 400: s.validationError, ...AUTHENTICATED },
    doc: CONTACTS,
  },

  getRecord(
    'tickets-v3',
    '/crm/v3/objects/tickets/{ticketId}',
    'get-/crm/v3/objects/tickets/{ticketId}_getById',
    'tickets',
    'https://developers.hubspot.com/docs/api/crm/tickets',
  ),
  // HubSpot's deals spec writes the path with the type id (`/crm/v3/objects/0-3/{dealId}`); the SDK
  // and Signalbox call it by name, which HubSpot accepts alike
  getRecord(
    'deals-v3',
    '/crm/v3/objects/deals/{dealId}',
    'get-/crm/v3/objects/0-3/{dealId}_getById',
    'crm.objects.deals.read',
    'https://developers.hubspot.com/docs/api/crm/deals',
  ),
  getRecord(
    'invoices-v3',
    '/crm/v3/objects/invoices/{invoiceId}',
    'get-/crm/v3/objects/invoices/{invoiceId}_getById',
    'crm.objects.invoices.read',
    'https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/invoices/guide',
  ),

  createRecord(
    'communications-v3',
    '/crm/v3/objects/communications',
    'post-/crm/v3/objects/communications_create',
    'https://developers.hubspot.com/docs/api/crm/communications',
  ),
  createRecord(
    'notes-v3',
    '/crm/v3/objects/notes',
    'post-/crm/v3/objects/notes_create',
    'https://developers.hubspot.com/docs/api-reference/crm-notes-v3/guide',
  ),

  {
    spec: 'properties-v3',
    operationId: 'post-/crm/v3/properties/{objectType}/groups_create',
    method: 'POST',
    template: '/crm/v3/properties/{objectType}/groups',
    scopes: PROPERTY_WRITE_SCOPES,
    responses: { 201: s.propertyGroup, 400: s.validationError, 409: s.error, ...AUTHENTICATED },
    doc: PROPERTIES,
  },
  {
    spec: 'properties-v3',
    operationId: 'get-/crm/v3/properties/{objectType}/groups/{groupName}_getByName',
    method: 'GET',
    template: '/crm/v3/properties/{objectType}/groups/{groupName}',
    scopes: PROPERTY_READ_SCOPES,
    responses: { 200: s.propertyGroup, 404: s.error, ...AUTHENTICATED },
    doc: PROPERTIES,
  },
  {
    spec: 'properties-v3',
    operationId: 'post-/crm/v3/properties/{objectType}_create',
    method: 'POST',
    template: '/crm/v3/properties/{objectType}',
    scopes: PROPERTY_WRITE_SCOPES,
    // 409: a property with that name exists (HubSpot's property docs)
    responses: { 201: s.property, 400: s.validationError, 409: s.error, ...AUTHENTICATED },
    doc: 'https://developers.hubspot.com/docs/api-reference/crm-properties-v3/core/post-crm-v3-properties-objectType',
  },
  {
    spec: 'properties-v3',
    operationId: 'get-/crm/v3/properties/{objectType}/{propertyName}_getByName',
    method: 'GET',
    template: '/crm/v3/properties/{objectType}/{propertyName}',
    scopes: PROPERTY_READ_SCOPES,
    responses: { 200: s.property, 404: s.error, ...AUTHENTICATED },
    doc: PROPERTIES,
  },

  {
    spec: 'actions-v4',
    operationId: 'post-/automation/v4/actions/callbacks/{callbackId}/complete_complete',
    method: 'POST',
    template: '/automation/v4/actions/callbacks/{callbackId}/complete',
    scopes: ['automation'],
    // HubSpot documents 204 and an `Error` for anything else; which status refuses an expired,
    // repeated or off-definition completion is not documented (the fake answers 400, 404 for an
    // id HubSpot never issued)
    responses: { 204: null, 400: s.error, 404: s.error, ...AUTHENTICATED },
    doc: CALLBACKS,
  },

  {
    spec: 'exports-v3',
    operationId: 'post-/crm/v3/exports/export/async_start',
    method: 'POST',
    template: '/crm/v3/exports/export/async',
    // the spec names HubSpot's internal scope (crm-public-export); apps ask for crm.export
    scopes: ['crm.export'],
    responses: { 202: s.taskLocator, 400: s.validationError, ...AUTHENTICATED },
    doc: EXPORTS,
  },
  {
    spec: 'exports-v3',
    operationId: 'get-/crm/v3/exports/export/async/tasks/{taskId}/status_getStatus',
    method: 'GET',
    template: '/crm/v3/exports/export/async/tasks/{taskId}/status',
    scopes: ['crm.export'],
    responses: { 200: s.exportStatus, 404: s.error, ...AUTHENTICATED },
    doc: EXPORTS,
  },
];
