import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { AuthError } from '../../../errors.js';
import type { Inbound } from '../../../inbound/inbound.js';
import type { HotWrites } from '../../../inbox/hot-writes.js';
import type { Logger } from '../../../logger.js';
import { field, formBody } from '../../../providers/form-body.js';
import { telerivetReceipt } from '../../../providers/telerivet/telerivet-status.js';
import type { RouteSpec } from '../../route-table.js';

export interface TelerivetHookDeps {
  name: string;
  /** The `status_secret` our sends carry. */
  statusSecret: string;
  /** The webhook service's secret (incoming messages). */
  webhookSecret: string;
  /** Chat-app routes by channel (TELERIVET_CHAT_ROUTES): an incoming `chat` is on the channel of its route. */
  chatRoutes: Readonly<Record<string, string>>;
  writes: HotWrites;
  inbound: () => Inbound;
  log: Logger;
  now: () => number;
  nudge: () => void;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Telerivet's webhooks: form POSTs authenticated by the plain shared secret in the `secret` field
 * (Telerivet signs nothing), compared in constant time. `send_status` events become receipts,
 * `incoming_message` events go into the inbound path.
 */
export function telerivetHookRoutes(d: TelerivetHookDeps): RouteSpec[] {
  const verified = (req: Request, secret: string): URLSearchParams => {
    const p = formBody(req);
    if (!same(p.get('secret') ?? '', secret)) {
      d.log.warn({ provider: d.name, path: req.path }, 'telerivet hook refused: secret');
      throw new AuthError(401, 'SECRET_INVALID', 'the secret field is missing or wrong');
    }
    return p;
  };
  /**
   * When Telerivet says it happened (seconds), never later than now: a time past now (a clock ahead,
   * or a forged field) would outrank every later change (consent goes by the latest line), and one
   * past year 9999 cannot be written at all.
   */
  const at = (p: URLSearchParams) => {
    const now = d.now();
    const ms = Number(p.get('time_created') ?? p.get('time_updated')) * 1000;
    return new Date(Number.isFinite(ms) && ms > 0 && ms < now ? ms : now).toISOString();
  };
  /** The channel an incoming message came by: a chat by its route's app, USSD, else SMS; null for a chat on an unknown route. */
  const channelOf = (p: URLSearchParams): string | null => {
    const type = p.get('message_type');
    if (type === 'ussd') return 'ussd';
    if (type !== 'chat') return 'sms';
    const route = p.get('route_id');
    return Object.entries(d.chatRoutes).find(([, r]) => r === route)?.[0] ?? null;
  };
  return [
    {
      method: 'post',
      path: '/hooks/telerivet/status',
      summary: "Telerivet's send_status callback (secret: the message's status_secret)",
      tags: ['providers'],
      security: 'telerivetSecret',
      rawBody: { limit: 64 * 1024 },
      responses: { 200: 'taken' },
      handler: async (req, res) => {
        const p = verified(req, d.statusSecret);
        const id = field(p, 'id', /^[\w-]{1,64}$/);
        const status = telerivetReceipt(field(p, 'status'));
        const error = p.get('error_message');
        if (status !== null)
          await d.writes.receipts(d.name, [
            {
              providerMessageId: id,
              status,
              at: at(p),
              ...(status !== 'delivered' && status !== 'read' && error ? { error: `telerivet: ${error.slice(0, 200)}` } : {}),
            },
          ]);
        res.status(200).json({ ok: true });
      },
    },
    {
      method: 'post',
      path: '/hooks/telerivet/incoming',
      summary: "Telerivet's incoming_message webhook (secret: the webhook service's secret)",
      tags: ['providers'],
      security: 'telerivetSecret',
      rawBody: { limit: 64 * 1024 },
      responses: { 200: 'taken' },
      handler: async (req, res) => {
        const p = verified(req, d.webhookSecret);
        if (p.get('event') !== 'incoming_message') {
          res.status(200).json({ ok: true, ignored: p.get('event') });
          return;
        }
        const text = p.get('content') ?? undefined;
        const id = field(p, 'id', /^[\w-]{1,64}$/);
        const channel = channelOf(p);
        if (channel === null) {
          // a chat on a route we do not know: which app it came by cannot be told (taking it as
          // SMS would put a WhatsApp STOP on the SMS channel)
          d.log.warn(
            { provider: d.name, routeId: p.get('route_id') },
            'telerivet chat message on a route not in TELERIVET_CHAT_ROUTES: ignored',
          );
          res.status(200).json({ ok: true, ignored: 'chat on a route not in TELERIVET_CHAT_ROUTES' });
          return;
        }
        await d.inbound().receive(d.name, {
          id,
          channel,
          from: field(p, 'from_number'),
          ...(text !== undefined ? { text: text.slice(0, 4096) } : {}),
          at: at(p),
        });
        d.nudge();
        res.status(200).json({ ok: true });
      },
    },
  ];
}
