import type { z } from 'zod';
import { jsonSchema, type RouteSpec } from './route-table.js';

const problemRef = { $ref: '#/components/schemas/Problem' };
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemRef } } });

/** `/api/v1/messages/:id` → `/api/v1/messages/{id}` */
export const openApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

const SECURITY: Record<RouteSpec['security'], Array<Record<string, string[]>> | undefined> = {
  apiKey: [{ apiKey: [] }],
  providerSignature: [{ providerSignature: [] }],
  twilioSignature: [{ twilioSignature: [] }],
  telerivetSecret: [{ telerivetSecret: [] }],
  unsubscribeToken: [{ unsubscribeToken: [] }],
  hubspotSignature: [{ hubspotSignature: [] }],
  salesforceOrg: [{ salesforceOrg: [] }],
  salesforcePanelKey: [{ salesforcePanelKey: [] }],
  cookie: [{ session: [] }],
  none: [],
};

/** Query parameters from a query schema (one per property of its JSON Schema). */
function queryParameters(s: z.ZodType): Array<Record<string, unknown>> {
  const js = jsonSchema(s) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: (js.required ?? []).includes(name),
    schema,
  }));
}

function operation(r: RouteSpec): Record<string, unknown> {
  const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const headers = Object.entries(r.headers ?? {}).map(([name, description]) => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string' },
  }));
  const parameters = [...params, ...(r.query ? queryParameters(r.query) : []), ...headers];
  const responses: Record<string, unknown> = {};
  const produces = r.produces ?? 'application/json';
  for (const [status, description] of Object.entries(r.responses))
    responses[status] =
      Number(status) >= 400
        ? problem(description)
        : {
            description,
            ...(status === '302' || status === '204'
              ? {}
              : { content: { [produces]: { schema: produces === 'application/json' ? { type: 'object' } : { type: 'string' } } } }),
          };
  if (r.body !== undefined) responses['400'] ??= problem('the input does not fit: code and the JSON path of each problem');
  // a route that reads its body itself (signatures cover the bytes) still refuses what it cannot read
  const takesBody = r.method !== 'get' && (r.body !== undefined || r.rawBody);
  if (takesBody && r.rawBody) responses['400'] ??= problem('the body cannot be read as what this route takes: code and where');
  if (takesBody) responses['413'] ??= problem('BODY_TOO_LARGE: the body is larger than this route takes');
  if (r.security !== 'none') responses['401'] ??= problem('not authenticated (no key, a bad key or signature, a replay)');
  if (r.roles !== undefined) responses['403'] ??= problem("the key's role may not do this");
  if (r.security === 'apiKey')
    responses['429'] ??= problem(
      'AUTH_RATE_LIMITED: this address presented ten different keys that are not valid in five minutes; any key waits (Retry-After)',
    );
  responses['5XX'] = problem('our fault: a correlation id to report, nothing else');
  return {
    summary: r.summary,
    tags: r.tags,
    operationId: `${r.method}${r.path.replace(/[/:{}-]+(\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    ...(SECURITY[r.security]?.length ? { security: SECURITY[r.security] } : {}),
    ...(r.roles ? { 'x-roles': r.roles } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 description of every route in the table, bodies and queries from the schemas the routes validate with. */
export function openApiDocument(routes: readonly RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = openApiPath(r.path);
    paths[p] = { ...(paths[p] ?? {}), [r.method]: operation(r) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Signalbox API',
      version: '1',
      description:
        'Decisions, messages, events, contacts, consent, rules and reports; CRM and provider hooks. Errors are RFC 9457 problem+json.',
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'API key (roles admin | agent | integration | metrics, the last for /metrics only); X-API-Key also accepted',
        },
        providerSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Signalbox-Signature',
          description: 't=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>; each signature is good once',
        },
        twilioSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Twilio-Signature',
          description: 'base64 HMAC-SHA1 (the Auth Token) over the full URL and the sorted POST parameters, as Twilio signs its webhooks',
        },
        telerivetSecret: {
          type: 'apiKey',
          in: 'query',
          name: 'secret',
          description:
            "Telerivet's shared secret, sent as the `secret` field of its form POST (the status_secret, or the webhook service's secret)",
        },
        unsubscribeToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description: 'The signed token in the unsubscribe URL of a marketing email (last path segment)',
        },
        hubspotSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-HubSpot-Signature-v3',
          description: "HubSpot's request signature (v3, or v1/v2 where HubSpot sends those), checked against the app's client secret",
        },
        salesforceOrg: {
          type: 'apiKey',
          in: 'query',
          name: 'secret',
          description:
            'Outbound Messages: the organization id in the message must be a connected (or configured) org, and the last path segment the configured secret (SALESFORCE_OUTBOUND_SECRET) when one is set; Salesforce signs nothing',
        },
        salesforcePanelKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Signalbox-Panel-Key',
          description: "The key Signalbox issued to the org named in X-Signalbox-Org-Id, sent by the org's Named Credential",
        },
        session: { type: 'apiKey', in: 'cookie', name: 'signalbox_session' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
            correlationId: { type: 'string' },
          },
        },
      },
    },
    paths,
  };
}
