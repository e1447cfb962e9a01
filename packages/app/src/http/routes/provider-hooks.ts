import type { CompiledRuleset } from '@signalbox/engine';
import type { Request } from 'express';
import { z } from 'zod';
import { AuthError, InputError, NotFoundError } from '../../errors.js';
import type { HotWrites } from '../../inbox/hot-writes.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Runtime } from '../../runtime.js';
import type { ReplayGuard } from '../../security/replay-guard.js';
import { SIGNATURE_HEADER, verify } from '../../security/signature.js';
import { assertUtf8Charset, parseJsonBody } from '../json-body.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';

export const receiptBody = z.strictObject({
  providerMessageId: z.string().min(1).max(200),
  status: z.enum(['delivered', 'read', 'undelivered', 'failed']),
  at: z.iso.datetime({ offset: true }),
  /** Why an undelivered or failed message was not delivered (the provider's code or words): kept on its attempt. */
  error: z.string().min(1).max(500).optional(),
});
/** Providers that report in bulk (as many SMS gateways do) send `{ receipts: [...] }`, applied in order. */
export const RECEIPT_BATCH_MAX = 500;
export const receiptBatchBody = z.strictObject({ receipts: z.array(receiptBody).min(1).max(RECEIPT_BATCH_MAX) });
const receiptsBody = z.union([receiptBody, receiptBatchBody]);

export const inboundBody = z.strictObject({
  id: z.string().min(1).max(200),
  channel: z.string().min(1).max(40),
  from: z.string().min(1).max(320),
  text: z.string().max(4096).optional(),
  payload: z.string().max(200).optional(),
  at: z.iso.datetime({ offset: true }),
});

/**
 * Receipts and inbound messages from providers. Each provider signs with its own secret
 * (Signalbox-Signature, HMAC-SHA256 over the raw body, 5-minute window); a signature is good once
 * (kept in the store: a replay is refused after a restart too). Anything else is 401, logged
 * without the body.
 */
export function providerHookRoutes(d: {
  runtime: Runtime;
  ruleset: () => CompiledRuleset;
  writes: HotWrites;
  secrets: Readonly<Record<string, string>>;
  replay: ReplayGuard;
  log: Logger;
  metrics: Metrics;
  nudge: () => void;
}): RouteSpec[] {
  const verified = async (req: Request): Promise<unknown> => {
    const name = String(req.params.name);
    // own names only: `__proto__`, `constructor` and the like are no provider
    const secret = Object.hasOwn(d.secrets, name) ? d.secrets[name] : undefined;
    if (secret === undefined) throw new NotFoundError('PROVIDER_UNKNOWN', `no provider ${name}`);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.get(SIGNATURE_HEADER);
    const check = verify(secret, signature, raw, Date.now());
    if (!check.ok) {
      d.log.warn({ provider: name, reason: check.reason, path: req.path }, 'provider hook refused');
      throw new AuthError(401, 'SIGNATURE_INVALID', `signature ${check.reason}`);
    }
    if (!(await d.replay.firstUse(`provider:${name}`, check.mac, Date.now()))) {
      d.log.warn({ provider: name, path: req.path }, 'provider hook replayed');
      throw new AuthError(401, 'SIGNATURE_REPLAYED', 'signature already used');
    }
    assertUtf8Charset(req.get('content-type'));
    return parseJsonBody(raw, false);
  };
  return [
    {
      method: 'post',
      path: '/hooks/providers/:name/receipts',
      summary: "A provider's delivery receipt, or a batch of them ({receipts: [...]}, applied in order)",
      tags: ['providers'],
      security: 'providerSignature',
      rawBody: true,
      body: receiptsBody,
      responses: { 200: 'applied: {result} or {results}', 202: 'parked until the send is recorded: {result}' },
      handler: async (req, res) => {
        const name = String(req.params.name);
        const raw = await verified(req);
        if (typeof raw === 'object' && raw !== null && 'receipts' in raw) {
          const { receipts } = parseBody(receiptBatchBody, raw);
          const results = await d.writes.receipts(name, receipts);
          for (const r of receipts) d.metrics.receipts.inc({ provider: name, status: r.status });
          res.json({ results });
          return;
        }
        const body = parseBody(receiptBody, raw);
        const [result] = await d.writes.receipts(name, [body]);
        d.metrics.receipts.inc({ provider: name, status: body.status });
        res.status(result === 'applied' ? 200 : 202).json({ result });
      },
    },
    {
      method: 'post',
      path: '/hooks/providers/:name/inbound',
      summary: 'An inbound message: consent keywords (STOP, STOPALL, START, HELP, …), replies and button payloads',
      tags: ['providers'],
      security: 'providerSignature',
      rawBody: true,
      body: inboundBody,
      responses: { 200: '{contactId, keyword, event}' },
      handler: async (req, res) => {
        const body = parseBody(inboundBody, await verified(req));
        // a channel the ruleset has: a reply "on pigeon" would be stored and shown to agents as one
        const channels = d.ruleset().source.channels;
        if (!Object.hasOwn(channels, body.channel))
          throw new InputError(`"${body.channel}" is not a channel of the active ruleset`, [
            { path: '/channel', message: `one of ${Object.keys(channels).join(', ')}` },
          ]);
        const result = await d.runtime.inbound.receive(String(req.params.name), body);
        d.nudge();
        res.json(result);
      },
    },
  ];
}
