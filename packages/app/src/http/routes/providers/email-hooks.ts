import { z } from 'zod';
import { canonicalIdentity } from '../../../contacts/identity.js';
import { AuthError, NotFoundError } from '../../../errors.js';
import type { HotWrites } from '../../../inbox/hot-writes.js';
import type { Logger } from '../../../logger.js';
import { escapeHtml } from '../../../providers/outbound.js';
import { readUnsubscribeToken } from '../../../providers/smtp/unsubscribe-token.js';
import type { ReplayGuard } from '../../../security/replay-guard.js';
import { SIGNATURE_HEADER, verify } from '../../../security/signature.js';
import type { Store } from '../../../store/store.js';
import { assertUtf8Charset, parseJsonBody } from '../../json-body.js';
import { pageHeaders } from '../../page-headers.js';
import type { RouteSpec } from '../../route-table.js';
import { parseBody } from '../../validate.js';
import { applyEmailReport, unsubscribeByMessage } from './email-reports.js';

export const emailReportBody = z.strictObject({
  type: z.enum(['bounce', 'complaint']),
  // any address a contact can be stored by (letters of any script; one stored before the address
  // check too): a bounce or complaint about it must reach its contact
  recipient: z
    .string()
    .max(320)
    .refine((v) => v.includes('@') && canonicalOrNull(v) !== null, 'not an email address'),
  messageId: z.string().min(1).max(300).optional(),
  permanent: z.boolean().optional(),
  diagnostic: z.string().max(1000).optional(),
  at: z.iso.datetime({ offset: true }),
});

function canonicalOrNull(v: string): string | null {
  try {
    return canonicalIdentity('email', v);
  } catch {
    return null;
  }
}

export interface EmailHookDeps {
  name: string;
  unsubscribeSecret: string;
  /** Signs bounce and complaint reports (Signalbox-Signature). */
  reportSecret: string;
  store: Store;
  writes: HotWrites;
  replay: ReplayGuard;
  log: Logger;
  now: () => number;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;

/**
 * Email's routes: the unsubscribe link of marketing mail (GET shows a confirmation page, as link
 * scanners must not unsubscribe anyone; POST unsubscribes: the RFC 8058 one-click POST with body
 * `List-Unsubscribe=One-Click`, or the page's button), and bounce and complaint reports posted as
 * JSON signed with Signalbox-Signature (a DSN or ARF parser, or the mail provider's webhook, posts
 * one report per recipient).
 */
export function emailHookRoutes(d: EmailHookDeps): RouteSpec[] {
  const messageOf = (token: string): string => {
    const id = readUnsubscribeToken(d.unsubscribeSecret, token);
    if (id === null) throw new AuthError(401, 'UNSUBSCRIBE_TOKEN_INVALID', 'this unsubscribe link is not one of ours');
    return id;
  };
  return [
    {
      method: 'get',
      path: '/email/unsubscribe/:token',
      summary: 'The unsubscribe page of a marketing email (confirms with a POST)',
      tags: ['providers'],
      security: 'unsubscribeToken',
      responses: { 200: 'an HTML page with the confirmation button' },
      handler: (req, res) => {
        messageOf(String(req.params.token));
        pageHeaders(res)
          .status(200)
          .type('html')
          .send(
            page(
              'Unsubscribe',
              `<p>Stop marketing emails to this address?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
            ),
          );
      },
    },
    {
      method: 'post',
      path: '/email/unsubscribe/:token',
      summary: 'One-click unsubscribe (RFC 8058): revokes marketing consent on email',
      tags: ['providers'],
      security: 'unsubscribeToken',
      rawBody: { limit: 4096 },
      responses: { 200: 'unsubscribed (the same answer again for a repeated click)' },
      handler: async (req, res) => {
        const messageId = messageOf(String(req.params.token));
        const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
        const oneClick = new URLSearchParams(raw).get('List-Unsubscribe') === 'One-Click';
        const contact = await unsubscribeByMessage(d.store, messageId, oneClick ? 'one-click unsubscribe' : 'unsubscribe link', d.now());
        if (contact === null) throw new NotFoundError('MESSAGE_NOT_FOUND', 'the email this link came with is no longer known');
        pageHeaders(res).status(200).type('html').send(page('Unsubscribed', '<p>You will not get marketing emails from us any more.</p>'));
      },
    },
    {
      method: 'post',
      path: '/hooks/email/reports',
      summary:
        'A bounce or complaint about one of our emails: a hard bounce marks the address unreachable, a complaint revokes marketing consent',
      tags: ['providers'],
      security: 'providerSignature',
      rawBody: { limit: 64 * 1024 },
      body: emailReportBody,
      responses: { 200: '{contactId} (null: not an address of ours)' },
      handler: async (req, res) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = req.get(SIGNATURE_HEADER);
        const check = verify(d.reportSecret, signature, raw, Date.now());
        if (!check.ok) {
          d.log.warn({ provider: d.name, reason: check.reason, path: req.path }, 'email report refused');
          throw new AuthError(401, 'SIGNATURE_INVALID', `signature ${check.reason}`);
        }
        if (!(await d.replay.firstUse(`provider:${d.name}:reports`, check.mac, Date.now())))
          throw new AuthError(401, 'SIGNATURE_REPLAYED', 'signature already used');
        assertUtf8Charset(req.get('content-type'));
        const report = parseBody(emailReportBody, parseJsonBody(raw, false));
        const contactId = await applyEmailReport(d.store, d.name, report, d.now());
        // the attempt it was about did not get through: its plan's next step follows
        if (report.type === 'bounce' && report.permanent !== false && report.messageId !== undefined)
          await d.writes.receipts(d.name, [
            {
              providerMessageId: report.messageId.replace(/^<|>$/g, ''),
              status: 'undelivered',
              at: report.at,
              // the attempt says why (the bounce's diagnostic, as the contact's unreachable reason does)
              error: `${d.name} bounce${report.diagnostic !== undefined ? `: ${report.diagnostic.slice(0, 300)}` : ''}`,
            },
          ]);
        res.status(200).json({ contactId });
      },
    },
  ];
}
