import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { pageLimit } from './list-query.js';

const listQuery = z.strictObject({
  limit: pageLimit,
  /** The `next` cursor of the previous page. */
  cursor: z
    .string()
    .refine((c) => /^\d{1,16}:[\w-]{1,200}$/.test(c) && Number.isSafeInteger(Number(c.split(':')[0])), 'a cursor from the previous page')
    .optional(),
});

/** The inbox's dead letters: events given up on, with their error, and retried on request. */
export function inboxRoutes(runtime: Runtime, nudge: () => void): RouteSpec[] {
  const store = runtime.store;
  return [
    {
      method: 'get',
      path: '/api/v1/inbox/dead-letters',
      summary: 'Events given up on (newest first), with their error and how often they were tried; paged with `cursor`',
      tags: ['inbox'],
      security: 'apiKey',
      roles: ['admin'],
      query: listQuery,
      responses: { 200: '{items, next}' },
      handler: async (req, res) => {
        const q = parseBody(listQuery, req.query, '/query');
        const [at, id] = q.cursor?.split(':') ?? [];
        const items = await store.inbox.deadLetters(q.limit, at !== undefined && id !== undefined ? { deadAt: Number(at), id } : undefined);
        const last = items.at(-1);
        res.json({
          items: items.map((d) => ({ ...d, receivedAt: new Date(d.receivedAt).toISOString(), deadAt: new Date(d.deadAt).toISOString() })),
          next: items.length === q.limit && last !== undefined ? `${last.deadAt}:${last.id}` : null,
        });
      },
    },
    {
      method: 'post',
      path: '/api/v1/inbox/:id/retry',
      summary: 'Puts a dead letter back in the backlog, to be tried again now',
      tags: ['inbox'],
      security: 'apiKey',
      roles: ['admin'],
      responses: { 202: '{id, status: "pending"}' },
      handler: async (req, res) => {
        const id = String(req.params.id);
        if (!(await store.inbox.retry(id))) throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
        await store.audit.record(`${req.principal?.role}:${req.principal?.name}`, 'inbox.retry', id, {}, Date.now());
        nudge();
        res.status(202).json({ id, status: 'pending' });
      },
    },
  ];
}
