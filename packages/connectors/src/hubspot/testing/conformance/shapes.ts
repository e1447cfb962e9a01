/**
 * The answers Signalbox relies on from HubSpot, as JSON Schemas written for this project: only the
 * fields Signalbox or the conformance checks read, their types, which are required and the enums
 * HubSpot documents. They are our own description of HubSpot's published API, not HubSpot's files
 * (why: specs/README.md). Each shape names where it was read:
 * - "spec <file>#<schema>": HubSpot's OpenAPI spec collection, github.com/HubSpot/HubSpot-public-api-spec-collection
 *   at commit 99893791383254f52aa07662baeb98aad65cc710, path `PublicApiSpecs/<file>`, `components.schemas.<schema>`
 *   (HubSpot publishes the same descriptions as its API reference at developers.hubspot.com);
 * - a URL: a HubSpot doc page, or an issue thread quoting a body HubSpot sent.
 * Objects stay open (no `additionalProperties: false`): HubSpot adds fields without notice, and so
 * do its specs.
 */
import type { SchemaObject } from 'ajv';

const string = { type: 'string' } as const;
const boolean = { type: 'boolean' } as const;
const integer = { type: 'integer' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const strings = { type: 'array', items: string } as const;
/** HubSpot's `context`: each key maps to a list of strings. */
const stringLists = { type: 'object', additionalProperties: strings } as const;

const object = (required: readonly string[], properties: Record<string, SchemaObject>): SchemaObject => ({
  type: 'object',
  required: [...required],
  properties,
});
/** `base` with more required fields or narrower types for some of them. */
const refine = (base: SchemaObject, required: readonly string[], properties: Record<string, SchemaObject>): SchemaObject => ({
  allOf: [base, object(required, properties)],
});

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * One detail of an error. HubSpot's codes here include PROPERTY_DOESNT_EXIST and INVALID_OPTION
 * (with the property's name in `context.propertyName`); HubSpot publishes no closed list of
 * codes, so `code` is any string and the checks assert the codes they expect.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#ErrorDetail.
 */
export const errorDetail = object(['message'], {
  message: string,
  code: string,
  in: string,
  subCategory: string,
  context: stringLists,
});

/**
 * Every error body (any status but 429): `category`, `correlationId` (a UUID) and `message` are
 * required; HubSpot also sends `status: "error"`, which the spec leaves out.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#Error (the same `Error` in every spec
 * Signalbox uses, OAuth and automation included); https://developers.hubspot.com/docs/api/error-handling.
 */
export const error = object(['category', 'correlationId', 'message'], {
  status: string,
  category: string,
  subCategory: string,
  correlationId: { type: 'string', format: 'uuid' },
  message: string,
  context: stringLists,
  errors: { type: 'array', items: errorDetail },
  links: { type: 'object', additionalProperties: string },
});

/**
 * 400 from a CRM write, search or batch call: category VALIDATION_ERROR (property values HubSpot
 * refuses list each in `errors[]`; an association type that does not go from the object type
 * adds `subCategory` crm.associations.INVALID_ASSOCIATION_TYPE).
 * Source: https://developers.hubspot.com/docs/api/error-handling; bodies HubSpot sent:
 * https://github.com/HubSpot/hubspot-api-nodejs/issues/307.
 */
export const validationError = refine(error, [], { category: { const: 'VALIDATION_ERROR' } });

/**
 * 401: the token is missing or unknown (INVALID_AUTHENTICATION) or expired (EXPIRED_AUTHENTICATION).
 * Source: https://developers.hubspot.com/docs/api/error-handling; bodies HubSpot sent:
 * https://github.com/airbytehq/airbyte/issues/74726, https://github.com/HubSpot/hubspot-api-php/issues/363.
 */
export const authenticationError = refine(error, [], {
  category: { enum: ['INVALID_AUTHENTICATION', 'EXPIRED_AUTHENTICATION'] },
});

/**
 * 403 for a call outside the token's scopes: category MISSING_SCOPES, at least one detail whose
 * context names the scopes that would allow the call (`requiredGranularScopes`; older answers
 * call it `requiredScopes`), and `links.scopes`.
 * Source: https://developers.hubspot.com/docs/api/error-handling; bodies HubSpot sent:
 * https://github.com/HubSpot/hubspot-api-nodejs/issues/50, https://github.com/HubSpot/hubspot-api-nodejs/issues/268.
 */
export const missingScopesError = refine(error, ['errors', 'links'], {
  category: { const: 'MISSING_SCOPES' },
  errors: {
    type: 'array',
    minItems: 1,
    items: object(['context'], {
      context: {
        anyOf: [
          object(['requiredGranularScopes'], { requiredGranularScopes: { ...strings, minItems: 1 } }),
          object(['requiredScopes'], { requiredScopes: { ...strings, minItems: 1 } }),
        ],
      },
    }),
  },
  links: object(['scopes'], { scopes: string }),
});

/**
 * 429: not the `Error` shape. `errorType` RATE_LIMIT and `policyName` say which limit was hit
 * (the SDK's retry keys on `policyName` and on the message); no `category`. The spec collection
 * declares no 429 at all.
 * Source: https://developers.hubspot.com/docs/api/usage-details (DAILY, SECONDLY);
 * TEN_SECONDLY_ROLLING: https://github.com/HubSpot/hubspot-api-python/issues/117.
 */
export const rateLimitError = object(['status', 'message', 'errorType', 'correlationId', 'policyName'], {
  status: { const: 'error' },
  message: { type: 'string', pattern: 'limit\\.$' },
  errorType: { const: 'RATE_LIMIT' },
  correlationId: { type: 'string', format: 'uuid' },
  policyName: { enum: ['SECONDLY', 'TEN_SECONDLY_ROLLING', 'DAILY'] },
  groupName: string,
  requestId: string,
});

/**
 * 400 from a token request: HubSpot's `Error` plus the RFC 6749 §5.2 `error` code (our gateway
 * reads `error` and `status`, e.g. invalid_grant / BAD_REFRESH_TOKEN).
 * Source: spec Auth/Oauth/Rollouts/279897/v3/oauth.json#Error;
 * https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide; RFC 6749 §5.2.
 */
export const oauthError = refine(error, ['error'], {
  error: { enum: ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] },
  error_description: string,
});

// ---------------------------------------------------------------------------------------------
// OAuth

/**
 * A token answer for the authorization_code and refresh_token grants (the client_credentials
 * variant of the spec's `TokenResponseIF` is not used by Signalbox). `token_use` is required and
 * can only be `access_token`; `hub_id` is how our gateway learns the portal.
 * Source: spec Auth/Oauth/Rollouts/279897/v3/oauth.json#AccessTokenResponse (the same in
 * Rollouts/155908/v1 and Rollouts/279897/2026-03); https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide.
 */
export const accessToken = object(['access_token', 'refresh_token', 'expires_in', 'token_type', 'token_use'], {
  access_token: string,
  refresh_token: string,
  expires_in: integer,
  token_type: string,
  token_use: { const: 'access_token' },
  hub_id: integer,
  user_id: integer,
  scopes: strings,
  id_token: string,
});

// ---------------------------------------------------------------------------------------------
// CRM records (contacts, tickets, deals, invoices, communications, notes share these)

const recordFields = {
  id: string,
  properties: { type: 'object', additionalProperties: string },
  createdAt: dateTime,
  updatedAt: dateTime,
  archived: boolean,
  archivedAt: dateTime,
} as const;
const recordRequired = ['id', 'properties', 'createdAt', 'updatedAt', 'archived'] as const;

/**
 * A record as a write answers it; property values are strings.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#SimplePublicObject (identical in the
 * tickets, deals, invoices, communications and notes specs).
 */
export const record = object(recordRequired, recordFields);

/**
 * A record as a read answers it: with `associations` when asked for, per object type a list of
 * `{id, type}` (type e.g. ticket_to_contact).
 * Source: spec CRM/Tickets/Rollouts/424/v3/tickets.json#SimplePublicObjectWithAssociations,
 * #CollectionResponseAssociatedId, #AssociatedId.
 */
export const recordWithAssociations = object(recordRequired, {
  ...recordFields,
  associations: {
    type: 'object',
    additionalProperties: object(['results'], { results: { type: 'array', items: object(['id', 'type'], { id: string, type: string }) } }),
  },
});

/** Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#NextPage. */
const nextPage = object(['after'], { after: string, link: string });

/**
 * A page of records (GET /crm/v3/objects/contacts): `paging.next.after` is the cursor.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#CollectionResponseSimplePublicObjectWithAssociationsForwardPaging.
 */
export const recordPage = object(['results'], {
  results: { type: 'array', items: recordWithAssociations },
  paging: object([], { next: nextPage }),
});

/**
 * A search answer: `total` is required.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#CollectionResponseWithTotalSimplePublicObject.
 */
export const searchPage = object(['results', 'total'], {
  results: { type: 'array', items: record },
  total: integer,
  paging: object([], { next: nextPage, prev: object(['before'], { before: string, link: string }) }),
});

/** Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#BatchResponseSimplePublicObject (status enum). */
const batchFields = {
  status: { enum: ['PENDING', 'PROCESSING', 'CANCELED', 'COMPLETE'] },
  startedAt: dateTime,
  completedAt: dateTime,
  requestedAt: dateTime,
  links: { type: 'object', additionalProperties: string },
} as const;
const batchRequired = ['status', 'results', 'startedAt', 'completedAt'] as const;

/**
 * One failure of a batch answered 207: unlike `Error`, `status`, `context`, `links` and `errors`
 * are required, and there is no `correlationId`.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#StandardError.
 */
export const batchError = object(['status', 'category', 'message', 'context', 'errors', 'links'], {
  status: string,
  category: string,
  message: string,
  id: string,
  context: stringLists,
  errors: { type: 'array', items: errorDetail },
  links: { type: 'object', additionalProperties: string },
});

/**
 * 207 Multi-Status: some inputs succeeded, some did not; each failure in `errors[]` (at least one,
 * or it would have been a 200), `numErrors` counting them.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#BatchResponseSimplePublicObjectWithErrors;
 * https://developers.hubspot.com/docs/api/error-handling (207).
 */
const withErrors = (results: SchemaObject): SchemaObject =>
  object([...batchRequired, 'errors'], {
    ...batchFields,
    results: { type: 'array', items: results },
    errors: { type: 'array', minItems: 1, items: batchError },
    numErrors: integer,
  });

/** Batch read (200). Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#BatchResponseSimplePublicObject. */
export const batch = object(batchRequired, { ...batchFields, results: { type: 'array', items: record } });
export const batchWithErrors = withErrors(record);

/**
 * A record as batch upsert answers it: `new` says whether the upsert created it.
 * Source: spec CRM/Contacts/Rollouts/424/v3/contacts.json#SimplePublicUpsertObject,
 * #BatchResponseSimplePublicUpsertObject, #BatchResponseSimplePublicUpsertObjectWithErrors.
 */
const upserted = object([...recordRequired, 'new'], { ...recordFields, new: boolean });
export const batchUpsert = object(batchRequired, { ...batchFields, results: { type: 'array', items: upserted } });
export const batchUpsertWithErrors = withErrors(upserted);

// ---------------------------------------------------------------------------------------------
// Properties

/**
 * A property group. Source: spec CRM/Properties/Rollouts/145899/v3/properties.json#PropertyGroup.
 */
export const propertyGroup = object(['name', 'label', 'displayOrder', 'archived'], {
  name: string,
  label: string,
  displayOrder: integer,
  archived: boolean,
});

/** Source: spec CRM/Properties/Rollouts/145899/v3/properties.json#Option. */
const option = object(['label', 'value', 'hidden'], {
  label: string,
  value: string,
  hidden: boolean,
  displayOrder: integer,
  description: string,
});

/**
 * A property definition: `description` and `options` are required even when empty.
 * Source: spec CRM/Properties/Rollouts/145899/v3/properties.json#Property;
 * https://developers.hubspot.com/docs/api-reference/crm-properties-v3/core/post-crm-v3-properties-objectType.
 */
export const property = object(['name', 'label', 'type', 'fieldType', 'groupName', 'description', 'options'], {
  name: string,
  label: string,
  type: string,
  fieldType: string,
  groupName: string,
  description: string,
  options: { type: 'array', items: option },
  displayOrder: integer,
  formField: boolean,
  hidden: boolean,
  hasUniqueValue: boolean,
  calculated: boolean,
  hubspotDefined: boolean,
  archived: boolean,
  createdAt: dateTime,
  updatedAt: dateTime,
});

// ---------------------------------------------------------------------------------------------
// Exports

/**
 * 202 to a started export: the task's id (a string of digits) and links.
 * Source: spec CRM/Exports/Rollouts/95922/v3/exports.json#TaskLocator.
 */
export const taskLocator = object(['id'], {
  id: { type: 'string', pattern: '^\\d+$' },
  links: { type: 'object', additionalProperties: string },
});

/**
 * An export's status: `completedAt`, `startedAt` and `status` are required (so HubSpot sends a
 * `completedAt` before it completes); `result`, the file's URL, only when COMPLETE.
 * Source: spec CRM/Exports/Rollouts/95922/v3/exports.json#ActionResponseWithSingleResultURI.
 */
export const exportStatus = {
  allOf: [
    object(['completedAt', 'startedAt', 'status'], {
      status: { enum: ['CANCELED', 'COMPLETE', 'PENDING', 'PROCESSING'] },
      completedAt: dateTime,
      startedAt: dateTime,
      requestedAt: dateTime,
      result: { type: 'string', pattern: '^https?://' },
      numErrors: integer,
      links: { type: 'object', additionalProperties: string },
    }),
    {
      anyOf: [
        object(['status', 'result'], { status: { const: 'COMPLETE' } }),
        {
          type: 'object',
          properties: { status: { enum: ['CANCELED', 'PENDING', 'PROCESSING'] } },
          not: { type: 'object', required: ['result'] },
        },
      ],
    },
  ],
} as const;
