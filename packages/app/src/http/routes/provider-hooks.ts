import express, { type Request, Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../logger.js';
import type { HotWrites } from '../../runtime/hot-writes.js';
import type { Runtime } from '../../runtime/runtime.js';
import { SIGNATURE_HEADER, verify } from '../../runtime/signing.js';
import type { Metrics } from '../metrics.js';
import { HttpProblem } from '../problem.js';
import { parseBody } from '../validate.js';

export const receiptBody = z.strictObject({
  providerMessageId: z.string().min(1).max(200),
  status: z.enum(['delivered', 'read', 'undelivered', 'failed']),
  at: z.iso.datetime({ offset: true }),
});
/** Providers that report in bulk (as many SMS gateways do) send `{ receipts: [...] }`, applied in order. */
export const RECEIPT_BATCH_MAX = 500;
export const receiptBatchBody = z.strictObject({ receipts: z.array(receiptBody).min(1).max(RECEIPT_BATCH_MAX) });

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
 * (Signalbox-Signature, HMAC-SHA256 over the raw body, 5-minute window); anything else is 401,
 * logged without the body.
 */
export function providerHooks(
  runtime: Runtime,
  writes: HotWrites,
  secrets: Readonly<Record<string, string>>,
  log: Logger,
  metrics: Metrics,
): Router {
  const r = Router();
  r.use(express.raw({ type: () => true, limit: '128kb' }));
  const verified = (req: Request): unknown => {
    const name = String(req.params.name);
    const secret = secrets[name];
    if (secret === undefined) throw new HttpProblem(404, 'PROVIDER_UNKNOWN', 'Not found', `no provider ${name}`);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verify(secret, req.get(SIGNATURE_HEADER), raw, Date.now());
    if (!check.ok) {
      log.warn({ provider: name, reason: check.reason, path: req.path }, 'provider hook refused');
      throw new HttpProblem(401, 'SIGNATURE_INVALID', 'Unauthorized', `signature ${check.reason}`);
    }
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpProblem(400, 'BODY_NOT_JSON', 'Bad request', 'the body is not valid JSON', [{ path: '', message: 'not valid JSON' }]);
    }
  };
  r.post('/:name/receipts', async (req, res) => {
    const name = String(req.params.name);
    const raw = verified(req);
    if (typeof raw === 'object' && raw !== null && 'receipts' in raw) {
      const { receipts } = parseBody(receiptBatchBody, raw);
      const results = await writes.receipts(name, receipts);
      for (const r of receipts) metrics.receipts.inc({ provider: name, status: r.status });
      res.json({ results });
      return;
    }
    const body = parseBody(receiptBody, raw);
    const [result] = await writes.receipts(name, [body]);
    metrics.receipts.inc({ provider: name, status: body.status });
    res.status(result === 'applied' ? 200 : 202).json({ result });
  });
  r.post('/:name/inbound', async (req, res) => {
    const body = parseBody(inboundBody, verified(req));
    const result = await runtime.inbound(String(req.params.name), body);
    req.app.emit('work');
    res.json(result);
  });
  return r;
}
