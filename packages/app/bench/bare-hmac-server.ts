/** The baseline: Express 5 doing only an HMAC check of the raw body, in its own process. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';

const SECRET = process.env.BENCH_HMAC_SECRET ?? 'bench-hmac-secret';
const app = express();
app.post(
  '/events',
  express.json({
    verify: (req, _res, buf) => {
      (req as unknown as { raw: Buffer }).raw = buf;
    },
  }),
  (req, res) => {
    const mac = createHmac('sha256', SECRET)
      .update((req as unknown as { raw: Buffer }).raw)
      .digest();
    const given = Buffer.from(String(req.get('x-signature') ?? ''), 'hex');
    if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
      res.status(401).end();
      return;
    }
    res.status(202).json({ accepted: 1, duplicates: 0 });
  },
);
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
