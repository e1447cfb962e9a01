/**
 * The shapes have teeth: answers HubSpot could give pass, and answers the fake used to give before
 * it was made faithful (commit 6a31b0f: no token_use, no Property description, no 207) or that
 * break one documented rule are refused, naming what is wrong. Without this a shape that accepts
 * everything would let every conformance check pass.
 */
import { describe, expect, it } from 'vitest';
import { type Answer, ResponseShapes } from './response-shapes.js';

const shapes = new ResponseShapes();
const UUID = '3c38ec78-9928-48f2-9c9d-40da50a18f97';
const AT = '2026-11-23T09:00:00.000Z';
const json = (method: string, path: string, status: number, body: unknown): Answer => ({
  method,
  path,
  status,
  contentType: 'application/json;charset=utf-8',
  body: JSON.stringify(body),
});
const problems = (a: Answer) => shapes.check(a).problems;

const token = {
  access_token: 'at-1',
  refresh_token: 'rt-1',
  expires_in: 1800,
  token_type: 'bearer',
  token_use: 'access_token',
  hub_id: 62515,
  scopes: ['oauth'],
};
const property = {
  name: 'signalbox_last_decision',
  label: 'Last decision reason',
  type: 'string',
  fieldType: 'textarea',
  groupName: 'signalbox',
  description: '',
  options: [],
  createdAt: AT,
};
const record = { id: '901', properties: { email: 'amina@example.com' }, createdAt: AT, updatedAt: AT, archived: false };
const missingScopes = {
  status: 'error',
  message: "This app hasn't been granted all required scopes to make this call.",
  correlationId: UUID,
  category: 'MISSING_SCOPES',
  errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: ['automation'] } }],
  links: { scopes: 'https://developers.hubspot.com/scopes' },
};
const rateLimited = {
  status: 'error',
  message: 'You have reached your secondly limit.',
  errorType: 'RATE_LIMIT',
  correlationId: UUID,
  policyName: 'SECONDLY',
};

describe('answers HubSpot could give pass', () => {
  it.each([
    ['a v3 token', json('POST', '/oauth/v3/token', 200, token)],
    ['a property', json('GET', '/crm/v3/properties/contacts/signalbox_last_decision', 200, property)],
    [
      'a 403 naming the scopes by their older key',
      json('GET', '/crm/v3/objects/contacts/901', 403, {
        ...missingScopes,
        errors: [{ message: 'One or more of the following scopes are required.', context: { requiredScopes: ['contacts'] } }],
      }),
    ],
    ['a 429 SECONDLY', json('POST', '/crm/v3/objects/contacts/search', 429, rateLimited)],
    [
      'a 204 without a body',
      { method: 'POST', path: '/automation/v4/actions/callbacks/cb-1/complete', status: 204, contentType: null, body: '' },
    ],
  ])('%s', (_, answer) => {
    expect(problems(answer)).toEqual([]);
  });
});

describe('answers HubSpot would not give are refused', () => {
  it('a token without token_use (the fake before 6a31b0f)', () => {
    const { token_use: _, ...without } = token;
    expect(problems(json('POST', '/oauth/v1/token', 200, without))).toEqual(["body: must have required property 'token_use'"]);
  });

  it('a token whose token_use is not access_token', () => {
    expect(problems(json('POST', '/oauth/2026-03/token', 200, { ...token, token_use: 'refresh_token' }))).toEqual([
      'body/token_use: must be equal to constant',
    ]);
  });

  it('an OAuth 400 without its RFC 6749 error code', () => {
    const body = {
      status: 'BAD_REFRESH_TOKEN',
      message: 'missing or unknown refresh token',
      correlationId: UUID,
      category: 'BAD_REFRESH_TOKEN',
    };
    expect(problems(json('POST', '/oauth/v3/token', 400, body))).toEqual(["body: must have required property 'error'"]);
  });

  it('a property without description (the fake before 6a31b0f)', () => {
    const { description: _, ...without } = property;
    expect(problems(json('POST', '/crm/v3/properties/contacts', 201, without))).toEqual([
      "body: must have required property 'description'",
    ]);
  });

  it('a 403 MISSING_SCOPES that does not name the scopes', () => {
    const { errors: _, ...without } = missingScopes;
    expect(problems(json('GET', '/crm/v3/objects/invoices/777', 403, without))).toEqual(["body: must have required property 'errors'"]);
  });

  it('a 429 in the Error shape, or naming a limit HubSpot does not have', () => {
    const asError = { status: 'error', message: 'You have reached your secondly limit.', correlationId: UUID, category: 'RATE_LIMITS' };
    expect(problems(json('POST', '/crm/v3/objects/contacts/search', 429, asError))).toEqual([
      "body: must have required property 'errorType'",
      "body: must have required property 'policyName'",
    ]);
    expect(problems(json('GET', '/crm/v3/objects/contacts/901', 429, { ...rateLimited, policyName: 'HOURLY' }))).toEqual([
      'body/policyName: must be equal to one of the allowed values',
    ]);
  });

  it('an error whose correlationId is not a UUID, or a 400 that is not a VALIDATION_ERROR', () => {
    const body = { status: 'error', message: 'bad', correlationId: 'abc', category: 'VALIDATION_ERROR' };
    expect(problems(json('PATCH', '/crm/v3/objects/contacts/901', 400, body))).toEqual(['body/correlationId: must match format "uuid"']);
    expect(problems(json('PATCH', '/crm/v3/objects/contacts/901', 400, { ...body, correlationId: UUID, category: 'BAD_REQUEST' }))).toEqual(
      ['body/category: must be equal to constant'],
    );
  });

  it('a 207 without the errors that make it one, or a 207 where HubSpot never answers one', () => {
    const batch = { status: 'COMPLETE', results: [record], startedAt: AT, completedAt: AT, errors: [] };
    expect(problems(json('POST', '/crm/v3/objects/contacts/batch/read', 207, batch))).toEqual([
      'body/errors: must NOT have fewer than 1 items',
    ]);
    expect(problems(json('GET', '/crm/v3/objects/contacts/901', 207, record))).toEqual([
      'status 207 is not one HubSpot answers GET /crm/v3/objects/contacts/{contactId} with (200, 401, 403, 404, 429)',
    ]);
  });

  it('a body where HubSpot sends none, and JSON sent as something else', () => {
    const completed = json('POST', '/automation/v4/actions/callbacks/cb-1/complete', 204, {});
    expect(problems(completed)).toEqual(['status 204 has no body, got 2 bytes']);
    expect(problems({ ...json('GET', '/crm/v3/objects/contacts/901', 200, record), contentType: 'text/plain' })).toEqual([
      'content-type text/plain is not application/json',
    ]);
  });

  it('a call HubSpot has no operation for', () => {
    expect(problems(json('GET', '/crm/v3/objects/contacts/901/notes', 200, {}))).toEqual([
      'no operation for GET /crm/v3/objects/contacts/901/notes',
    ]);
  });
});

describe('operations', () => {
  it('a literal path segment wins over a parameter: /groups is the groups endpoint, not a property named "groups"', () => {
    expect(shapes.operation('POST', '/crm/v3/properties/contacts/groups')?.template).toBe('/crm/v3/properties/{objectType}/groups');
    expect(shapes.operation('POST', '/crm/v3/properties/contacts')?.template).toBe('/crm/v3/properties/{objectType}');
    expect(shapes.operation('GET', '/crm/v3/properties/contacts/groups/signalbox')?.template).toBe(
      '/crm/v3/properties/{objectType}/groups/{groupName}',
    );
  });
});
