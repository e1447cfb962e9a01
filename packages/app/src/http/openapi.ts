import { z } from 'zod';
import { inboundBody, receiptBatchBody, receiptBody } from './routes/provider-hooks.js';
import { consentBody, contactUpsert, eventsBody, messageBody } from './routes/runtime-api.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const problem = {
  description: 'RFC 9457 problem',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const errors = { 400: problem, 401: problem, 403: problem, 404: problem, 413: problem };
const json = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const bearer = [{ apiKey: [] }];

/** The OpenAPI 3.1 description of every route, request bodies from the same zod schemas that validate them. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Signalbox API',
      version: '1',
      description: 'Decisions, messages, events, contacts, consent and reports. Errors are RFC 9457 problem+json.',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'API key (roles admin | agent | integration); X-API-Key also accepted' },
        providerSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Signalbox-Signature',
          description: 't=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>',
        },
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
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { 200: ok('alive') } } },
      '/readyz': { get: { summary: 'Readiness (store reachable)', responses: { 200: ok('ready'), 503: problem } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
      '/api/v1/decisions/preview': {
        post: {
          summary: 'What the active ruleset would decide, with reasons',
          security: bearer,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['message', 'contact'] } } },
          },
          responses: { 200: ok('decision'), ...errors },
        },
      },
      '/api/v1/messages': {
        post: {
          summary: 'Send a message through the policy',
          security: bearer,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 200 },
              description: 'retries with the same key return the first answer',
            },
          ],
          requestBody: json(messageBody),
          responses: { 202: ok('accepted, with its decision'), 409: problem, ...errors },
        },
      },
      '/api/v1/messages/{id}': {
        get: {
          summary: 'A message with its attempts and receipts',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('message'), ...errors },
        },
      },
      '/api/v1/messages/{id}/review': {
        post: {
          summary: 'Approve or reject a message held for review (audited)',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['verdict'],
                  properties: { verdict: { enum: ['approve', 'reject'] }, note: { type: 'string' } },
                },
              },
            },
          },
          responses: { 200: ok('queued or cancelled'), 409: problem, ...errors },
        },
      },
      '/api/v1/events': {
        post: {
          summary: 'Events (one or up to 100), durable before 202',
          security: bearer,
          requestBody: json(eventsBody),
          responses: { 202: ok('accepted and duplicates'), ...errors },
        },
      },
      '/api/v1/contacts': {
        post: {
          summary: 'Upsert a contact by any identity',
          security: bearer,
          requestBody: json(contactUpsert),
          responses: { 200: ok('updated'), 201: ok('created'), ...errors },
        },
      },
      '/api/v1/contacts/import': {
        post: {
          summary: 'Upsert up to 1,000 contacts',
          security: bearer,
          requestBody: json(z.array(contactUpsert)),
          responses: { 200: ok('per-row results'), ...errors },
        },
      },
      '/api/v1/contacts/{id}': {
        get: {
          summary: 'Contact with timeline, journeys, consent, identity conflicts',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('contact'), ...errors },
        },
      },
      '/api/v1/contacts/{id}/consent': {
        get: {
          summary: 'Consent ledger',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('ledger'), ...errors },
        },
        post: {
          summary: 'Append a consent line',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: json(consentBody),
          responses: { 201: ok('recorded'), ...errors },
        },
      },
      '/api/v1/contacts/{id}/decisions': {
        get: {
          summary: 'Decisions with reasons',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('decisions'), ...errors },
        },
      },
      '/api/v1/reports/inventory': {
        get: {
          summary: 'Messages by channel, team, journey, type and outcome, with cost',
          security: bearer,
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
            { name: 'to', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
          ],
          responses: { 200: ok('inventory'), ...errors },
        },
      },
      '/hooks/providers/{name}/receipts': {
        post: {
          summary: 'Delivery receipts (signed): one, or a batch `{receipts: [...]}` applied in order',
          security: [{ providerSignature: [] }],
          requestBody: json(z.union([receiptBody, receiptBatchBody])),
          responses: { 200: ok('applied (a batch: results per receipt)'), 202: ok('unknown message, kept until it is known'), ...errors },
        },
      },
      '/hooks/providers/{name}/inbound': {
        post: {
          summary: 'Inbound messages: keywords, replies (signed)',
          security: [{ providerSignature: [] }],
          requestBody: json(inboundBody),
          responses: { 200: ok('handled'), ...errors },
        },
      },
    },
  };
}
