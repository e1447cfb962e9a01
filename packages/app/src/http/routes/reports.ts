import type { Request, Response } from 'express';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import { costReport, fallbackReport, journeyReport, pressureReport, ratesReport, toCsv } from '../../reports/operations.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { instantOrDate as instant } from './list-query.js';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

const reportQuery = z.strictObject({
  from: instant,
  to: instant,
  /** `csv` answers text/csv (a spreadsheet opens it); default JSON. */
  format: z.enum(['json', 'csv']).default('json'),
});

function windowOf(req: Request) {
  const q = parseBody(reportQuery, req.query, '/query');
  const from = Date.parse(q.from);
  const to = Date.parse(q.to);
  if (to <= from) throw new InputError('`to` must be after `from`', [{ path: '/query/to', message: 'must be after from' }]);
  return { ...q, fromMs: from, toMs: to };
}

/** JSON, or the rows as a CSV download. */
function answer(
  res: Response,
  q: { format: string; from: string; to: string },
  name: string,
  body: Record<string, unknown>,
  rows: ReadonlyArray<Record<string, unknown>>,
) {
  if (q.format === 'csv') {
    res
      .type('text/csv')
      .set('content-disposition', `attachment; filename="signalbox-${name}-${q.from.slice(0, 10)}-${q.to.slice(0, 10)}.csv"`)
      .send(toCsv(rows));
    return;
  }
  res.json({ from: q.from, to: q.to, ...body });
}

/** Reports for the operations lead, each as JSON or CSV. */
export function reportRoutes(runtime: Runtime): RouteSpec[] {
  const store = runtime.store;
  const spec = (path: string, summary: string, handler: RouteSpec['handler']): RouteSpec => ({
    method: 'get',
    path,
    summary,
    tags: ['reports'],
    security: 'apiKey',
    roles: ['admin'],
    query: reportQuery,
    responses: { 200: 'JSON (or text/csv with format=csv)' },
    handler,
  });
  return [
    spec(
      '/api/v1/reports/inventory',
      "Messages and their cost in [from, to), by channel, team, journey, message type and outcome (a message counts under the channel it went by, with what all its attempts cost; /reports/costs splits cost by the attempts' channels)",
      async (req, res) => {
        const q = windowOf(req);
        const rows = await store.reports.inventory(q.fromMs, q.toMs);
        const total = rows.reduce((acc, x) => ({ messages: acc.messages + x.messages, cost: round6(acc.cost + x.cost) }), {
          messages: 0,
          cost: 0,
        });
        const by = (key: 'channel' | 'team' | 'journey' | 'type' | 'status') => {
          const m = new Map<string, { messages: number; cost: number }>();
          for (const x of rows) {
            const k = String(x[key] ?? '(none)');
            const cur = m.get(k) ?? { messages: 0, cost: 0 };
            m.set(k, { messages: cur.messages + x.messages, cost: round6(cur.cost + x.cost) });
          }
          return Object.fromEntries(m);
        };
        answer(
          res,
          q,
          'inventory',
          {
            total,
            byChannel: by('channel'),
            byTeam: by('team'),
            byJourney: by('journey'),
            byType: by('type'),
            byOutcome: by('status'),
            rows,
          },
          rows as unknown as Array<Record<string, unknown>>,
        );
      },
    ),
    spec(
      '/api/v1/reports/rates',
      'Delivery and read rates per channel and market in [from, to), per attempt (a fallback counts for its own channel)',
      async (req, res) => {
        const q = windowOf(req);
        const rows = ratesReport(await store.operations.attempts(q.fromMs, q.toMs));
        answer(res, q, 'rates', { rows }, rows);
      },
    ),
    spec(
      '/api/v1/reports/costs',
      "Cost per outcome: per message delivered, per read, per journey goal reached; by channel (each attempt's cost under its own channel)",
      async (req, res) => {
        const q = windowOf(req);
        const [messages, journeys, attempts] = await Promise.all([
          store.operations.messages(q.fromMs, q.toMs),
          store.operations.journeys(q.fromMs, q.toMs),
          store.operations.attempts(q.fromMs, q.toMs),
        ]);
        const r = costReport(messages, journeys, attempts);
        answer(res, q, 'costs', r, [{ channel: '(all)', ...r.total }, ...r.byChannel]);
      },
    ),
    spec(
      '/api/v1/reports/fallbacks',
      'Fallbacks taken (channel to channel), the messages they got through and what they cost',
      async (req, res) => {
        const q = windowOf(req);
        const rows = fallbackReport(await store.operations.attempts(q.fromMs, q.toMs));
        answer(res, q, 'fallbacks', { rows }, rows);
      },
    ),
    spec(
      '/api/v1/reports/journeys',
      'Journey outcomes against their goal (share reached within the window; appointment replies: confirmed, rescheduled, no answer)',
      async (req, res) => {
        const q = windowOf(req);
        const rows = journeyReport(await store.operations.journeys(q.fromMs, q.toMs));
        answer(res, q, 'journeys', { rows }, rows);
      },
    ),
    spec(
      '/api/v1/reports/pressure',
      'Messages the shared contact-pressure budget held back (deferred or dropped), per team',
      async (req, res) => {
        const q = windowOf(req);
        const rows = pressureReport(await store.operations.messages(q.fromMs, q.toMs));
        answer(res, q, 'pressure', { rows }, rows);
      },
    ),
  ];
}
