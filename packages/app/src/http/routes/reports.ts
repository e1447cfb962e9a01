import { InputError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { timeWindow } from './schemas.js';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Reports for the operations lead. */
export function reportRoutes(runtime: Runtime): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/reports/inventory',
      summary: 'Messages and their cost in [from, to), by channel, team, journey, message type and outcome',
      tags: ['reports'],
      security: 'apiKey',
      roles: ['admin'],
      query: timeWindow,
      responses: { 200: '{from, to, total, byChannel, byTeam, byJourney, byType, byOutcome, rows}' },
      handler: async (req, res) => {
        const q = parseBody(timeWindow, { from: req.query.from, to: req.query.to }, '/query');
        const from = Date.parse(q.from);
        const to = Date.parse(q.to);
        if (to <= from) throw new InputError('`to` must be after `from`', [{ path: '/query/to', message: 'must be after from' }]);
        const rows = await runtime.store.reports.inventory(from, to);
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
        res.json({
          from: q.from,
          to: q.to,
          total,
          byChannel: by('channel'),
          byTeam: by('team'),
          byJourney: by('journey'),
          byType: by('type'),
          byOutcome: by('status'),
          rows,
        });
      },
    },
  ];
}
