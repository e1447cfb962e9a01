import { IDENTITY_KINDS, MESSAGE_TYPES, PURPOSES } from '@signalbox/engine';
import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import { MESSAGE_STATUSES, type MessageStatus } from '../../messages/status.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { assertRange, decodeCursor, instantOrDate, isTimeKey, paged, pageFields } from './list-query.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const isString = (v: unknown): v is string => typeof v === 'string';
const contactsQuery = z.strictObject({
  ...pageFields,
  /** An identity value (a phone, an email, a CRM id), or a prefix ending in `*`. */
  identity: z.string().min(2).max(320).optional(),
  kind: z.enum(IDENTITY_KINDS).optional(),
  market: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in upper case')
    .optional(),
  /** `channel:purpose:status`, e.g. `sms:marketing:revoked`: the latest ledger line for that pair. */
  consent: z
    .string()
    .regex(
      new RegExp(`^[a-z*][a-z0-9_*-]{0,39}:(${[...PURPOSES, '\\*'].join('|')}):(granted|revoked)$`),
      'channel:purpose:status, e.g. sms:marketing:revoked',
    )
    .optional(),
  journey: z.string().min(1).max(80).optional(),
  journeyStatus: z.enum(['active', 'completed', 'exited']).optional(),
});

const messagesQuery = z.strictObject({
  ...pageFields,
  /** One status, or several comma-separated. */
  status: z
    .string()
    .regex(
      new RegExp(`^(${MESSAGE_STATUSES.join('|')})(,(${MESSAGE_STATUSES.join('|')}))*$`),
      `statuses among ${MESSAGE_STATUSES.join(', ')}`,
    )
    .optional(),
  channel: z.string().min(1).max(40).optional(),
  team: z.string().min(1).max(100).optional(),
  journey: z.string().min(1).max(100).optional(),
  contact: z.string().min(1).max(200).optional(),
  type: z.enum(MESSAGE_TYPES).optional(),
  from: instantOrDate.optional(),
  to: instantOrDate.optional(),
});

const journeysQuery = z.strictObject({
  ...pageFields,
  journey: z.string().min(1).max(80).optional(),
  status: z.enum(['active', 'completed', 'exited']).optional(),
  contact: z.string().min(1).max(200).optional(),
});

const inboxQuery = z.strictObject({
  ...pageFields,
  state: z.enum(['pending', 'failed', 'dead', 'processed']).optional(),
  source: z.string().min(1).max(40).optional(),
  type: z.string().min(1).max(80).optional(),
});

const reviewQuery = z.strictObject(pageFields);

/** Everything listable and searchable: contacts, messages, journeys, a contact's timers, inbox events, the review queue. */
export function listRoutes(runtime: Runtime): RouteSpec[] {
  const store = runtime.store;
  const message = (m: Awaited<ReturnType<typeof store.messages.list>>[number]) => ({
    id: m.id,
    contactId: m.contactId,
    type: m.type,
    purpose: m.purpose,
    team: m.team,
    workflow: m.workflow,
    journeyId: m.journeyId,
    template: m.template,
    status: m.status,
    outcome: m.outcome,
    channel: m.channel,
    cost: m.cost,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    sendAt: m.decision.sendAt,
    reasons: m.decision.reasons,
  });
  return [
    {
      method: 'get',
      path: '/api/v1/contacts',
      summary: 'Contacts by identity (exact, or a prefix ending in *), market, consent state (channel:purpose:status) or journey; paged',
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: contactsQuery,
      responses: { 200: '{items: [{id, market, timezone, tags, identities}], next}' },
      handler: async (req, res) => {
        const q = parseBody(contactsQuery, req.query, '/query');
        const [channel, purpose, status] = q.consent?.split(':') ?? [];
        const items = await store.contacts.search(
          {
            identity: q.identity,
            identityKind: q.kind,
            market: q.market,
            consent:
              channel !== undefined && purpose !== undefined && status !== undefined
                ? { channel, purpose, status: status as 'granted' | 'revoked' }
                : undefined,
            journey: q.journey,
            journeyStatus: q.journeyStatus,
          },
          q.limit,
          decodeCursor(q.cursor, isString),
        );
        const page = paged(items, q.limit, (c) => c.id);
        res.json({ items: page.items.map((c) => ({ ...c, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) })), next: page.next });
      },
    },
    {
      method: 'get',
      path: '/api/v1/contacts/:id/scheduled',
      summary: "A contact's scheduled sends and timers (deferred steps, fallback timeouts, journey waits), soonest first",
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{contactId, items: [{id, kind, dueAt, ref, messageId?, journeyInstanceId?}]}' },
      handler: async (req, res) => {
        const contact = await store.contacts.get(String(req.params.id));
        if (contact === null) throw new NotFoundError('CONTACT_NOT_FOUND', 'no such contact');
        const [messages, journeys] = await Promise.all([
          store.messages.list({ contactId: contact.id, status: ['queued', 'review', 'sent', 'delivered'] }, 500),
          store.journeys.active({ contactId: contact.id }),
        ]);
        const timers = await store.timers.pendingOf(contact.id, 0, 1_000);
        const kinds = new Map(messages.map((m) => [m.id, m]));
        res.json({
          contactId: contact.id,
          items: timers.map((t) => {
            const m = t.ref === null ? undefined : kinds.get(t.ref);
            return {
              id: t.id,
              kind: t.kind,
              dueAt: iso(t.dueAt),
              ref: t.ref,
              ...(m !== undefined
                ? { messageId: m.id, messageType: m.type, template: m.template }
                : { journeyInstanceId: t.ref, journeyId: journeys.find((j) => j.id === t.ref)?.journeyId ?? null }),
            };
          }),
        });
      },
    },
    {
      method: 'get',
      path: '/api/v1/messages',
      summary: 'Messages newest first by status, channel, team, journey, contact, type and time window [from, to); paged',
      tags: ['messages'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: messagesQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(messagesQuery, req.query, '/query');
        assertRange(q);
        const after = decodeCursor(q.cursor, isTimeKey);
        const items = await store.messages.list(
          {
            status: q.status?.split(',') as MessageStatus[] | undefined,
            channel: q.channel,
            team: q.team,
            journeyId: q.journey,
            contactId: q.contact,
            type: q.type,
            from: q.from === undefined ? undefined : Date.parse(q.from),
            to: q.to === undefined ? undefined : Date.parse(q.to),
          },
          q.limit,
          after === undefined ? undefined : { createdAt: after[0], id: after[1] },
        );
        const page = paged(items, q.limit, (m) => [m.createdAt, m.id]);
        res.json({ items: page.items.map(message), next: page.next });
      },
    },
    {
      method: 'get',
      path: '/api/v1/reviews',
      summary:
        'The review queue: messages held for a person, newest first, with the reasons they were held; approve or reject with POST /api/v1/messages/{id}/review',
      tags: ['messages'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: reviewQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(reviewQuery, req.query, '/query');
        const after = decodeCursor(q.cursor, isTimeKey);
        const items = await store.messages.list(
          { status: ['review'] },
          q.limit,
          after === undefined ? undefined : { createdAt: after[0], id: after[1] },
        );
        const page = paged(items, q.limit, (m) => [m.createdAt, m.id]);
        res.json({ items: page.items.map(message), next: page.next });
      },
    },
    {
      method: 'get',
      path: '/api/v1/journeys',
      summary: 'Journey instances newest first by definition, state and contact; paged',
      tags: ['journeys'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      query: journeysQuery,
      responses: { 200: '{items: [{id, journeyId, key, contactId, status, outcome, step, waiting, goal}], next}' },
      handler: async (req, res) => {
        const q = parseBody(journeysQuery, req.query, '/query');
        const after = decodeCursor(q.cursor, isTimeKey);
        const items = await store.journeys.list(
          { journeyId: q.journey, status: q.status, contactId: q.contact },
          q.limit,
          after === undefined ? undefined : { createdAt: after[0], id: after[1] },
        );
        const page = paged(items, q.limit, (j) => [j.createdAt, j.id]);
        res.json({
          items: page.items.map((j) => ({
            id: j.id,
            journeyId: j.journeyId,
            key: j.key,
            contactId: j.contactId,
            status: j.status,
            outcome: j.state.outcome,
            step: j.state.cursor,
            waiting: j.state.waiting,
            goal: j.state.goal,
            sends: j.state.sends,
            createdAt: iso(j.createdAt),
            updatedAt: iso(j.updatedAt),
          })),
          next: page.next,
        });
      },
    },
    {
      method: 'get',
      path: '/api/v1/inbox/events',
      summary:
        'Inbox events newest first by state (pending, failed and waiting to be retried, dead, processed), source and type, with their last error; paged',
      tags: ['inbox'],
      security: 'apiKey',
      roles: ['admin'],
      query: inboxQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(inboxQuery, req.query, '/query');
        const after = decodeCursor(q.cursor, isTimeKey);
        const items = await store.inbox.list(
          { state: q.state, source: q.source, type: q.type },
          q.limit,
          after === undefined ? undefined : { receivedAt: after[0], id: after[1] },
        );
        const page = paged(items, q.limit, (e) => [e.receivedAt, e.id]);
        res.json({
          items: page.items.map((e) => ({
            ...e,
            receivedAt: iso(e.receivedAt),
            processedAt: iso(e.processedAt),
            deadAt: iso(e.deadAt),
            retryAt: iso(e.retryAt),
          })),
          next: page.next,
        });
      },
    },
  ];
}
