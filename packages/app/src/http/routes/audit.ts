import { z } from 'zod';
import type { AuditLog } from '../../audit/audit-log.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { assertRange, decodeCursor, instantOrDate, isTimeKey, paged, pageFields } from './list-query.js';

const auditQuery = z.strictObject({
  ...pageFields,
  /** One action, or every action under a prefix (`rules.*`). */
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*(\.\*)?$/, 'an action such as rules.publish, or a prefix such as rules.*')
    .optional(),
  actor: z.string().min(1).max(200).optional(),
  subject: z.string().min(1).max(200).optional(),
  from: instantOrDate.optional(),
  to: instantOrDate.optional(),
});

/** The audit log: who did what, when and why (admins only). */
export function auditRoutes(store: { audit: AuditLog }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/audit',
      summary: 'Audit entries newest first (publish, rollback, reviews, consent by staff, retries, sign-ins), filtered and paged',
      tags: ['audit'],
      security: 'apiKey',
      roles: ['admin'],
      query: auditQuery,
      responses: { 200: '{items: [{id, at, actor, action, subject, detail}], next}' },
      handler: async (req, res) => {
        const q = parseBody(auditQuery, req.query, '/query');
        assertRange(q);
        const after = decodeCursor(q.cursor, isTimeKey);
        const items = await store.audit.page(
          {
            action: q.action,
            actor: q.actor,
            subject: q.subject,
            from: q.from === undefined ? undefined : Date.parse(q.from),
            to: q.to === undefined ? undefined : Date.parse(q.to),
          },
          q.limit,
          after === undefined ? undefined : { at: after[0], id: after[1] },
        );
        const page = paged(items, q.limit, (e) => [e.at, e.id]);
        res.json({ items: page.items.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), next: page.next });
      },
    },
  ];
}
