import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, type Session } from './api';
import { h, mount, status, table } from './dom';

const monthWindow = () => {
  const to = new Date(Date.now() + 86_400_000);
  const from = new Date(to.getTime() - 31 * 86_400_000);
  return `from=${from.toISOString()}&to=${to.toISOString()}`;
};

/** Activity: inventory and reports as charts, the dead letters with retry, the review queue. */
export async function activityScreen(root: HTMLElement, session: Session): Promise<void> {
  const msg = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const reviews = h('section', { 'aria-labelledby': 'reviews-h' });
  const dead = h('section', { 'aria-labelledby': 'dead-h' });
  const charts = h('section', { 'aria-labelledby': 'charts-h' });
  mount(root, h('h2', {}, 'Activity'), msg, reviews, session.role === 'admin' ? charts : null, session.role === 'admin' ? dead : null);
  await loadReviews();
  if (session.role === 'admin') await Promise.all([loadCharts(), loadDead()]);

  async function loadReviews() {
    const r = await api<{
      items: Array<{
        id: string;
        contactId: string;
        type: string;
        team: string | null;
        createdAt: string;
        reasons: Array<{ code: string; message: string }>;
      }>;
    }>('GET', '/api/v1/reviews');
    const verdict = async (id: string, v: 'approve' | 'reject') => {
      await api('POST', `/api/v1/messages/${id}/review`, { verdict: v, note: 'from the admin console' });
      status(msg, `Message ${id} ${v === 'approve' ? 'approved: it goes through the send gate now' : 'rejected'}.`, 'ok');
      await loadReviews();
    };
    mount(
      reviews,
      h('h3', { id: 'reviews-h' }, 'Review queue'),
      r.items.length === 0
        ? h('p', {}, 'Nothing waits for a person.')
        : table(
            'Messages held for review',
            ['Message', 'Contact', 'Type', 'Team', 'Since', 'Why', 'Verdict'],
            r.items.map((m) => [
              m.id,
              m.contactId,
              m.type,
              m.team ?? '—',
              m.createdAt.slice(0, 16).replace('T', ' '),
              m.reasons
                .filter((x) => x.code === 'review')
                .map((x) => x.message)
                .join('; ') || '—',
              h(
                'div',
                { class: 'buttons' },
                h(
                  'button',
                  { type: 'button', onclick: () => void verdict(m.id, 'approve'), 'aria-label': `Approve message ${m.id}` },
                  'Approve',
                ),
                h(
                  'button',
                  { type: 'button', onclick: () => void verdict(m.id, 'reject'), 'aria-label': `Reject message ${m.id}` },
                  'Reject',
                ),
              ),
            ]),
          ),
    );
  }

  async function loadDead() {
    const r = await api<{ items: Array<{ id: string; source: string; type: string; error: string; attempts: number; deadAt: string }> }>(
      'GET',
      '/api/v1/inbox/dead-letters',
    );
    mount(
      dead,
      h('h3', { id: 'dead-h' }, 'Dead letters'),
      r.items.length === 0
        ? h('p', {}, 'No event was given up on.')
        : table(
            'Inbox events given up on',
            ['Event', 'Source', 'Type', 'Tries', 'Error', ''],
            r.items.map((d) => [
              d.id,
              d.source,
              d.type,
              d.attempts,
              d.error,
              h(
                'button',
                {
                  type: 'button',
                  'aria-label': `Retry event ${d.id}`,
                  onclick: () =>
                    void api('POST', `/api/v1/inbox/${d.id}/retry`).then(() => {
                      status(msg, `Event ${d.id} is back in the backlog.`, 'ok');
                      return loadDead();
                    }),
                },
                'Retry',
              ),
            ]),
          ),
    );
  }

  async function loadCharts() {
    const w = monthWindow();
    const [inv, rates, pressure] = await Promise.all([
      api<{ byChannel: Record<string, { messages: number; cost: number }>; total: { messages: number; cost: number } }>(
        'GET',
        `/api/v1/reports/inventory?${w}`,
      ),
      api<{
        rows: Array<{ channel: string; market: string; went: number; deliveryRate: number | null; readRate: number | null; cost: number }>;
      }>('GET', `/api/v1/reports/rates?${w}`),
      api<{ rows: Array<{ team: string; requested: number; heldBack: number; deferred: number; dropped: number }> }>(
        'GET',
        `/api/v1/reports/pressure?${w}`,
      ),
    ]);
    const channels = Object.keys(inv.byChannel);
    const chart = h(
      'figure',
      { class: 'chart' },
      h('figcaption', {}, `Messages per channel, last 31 days (${inv.total.messages} in all, cost ${inv.total.cost.toFixed(2)})`),
    );
    mount(
      charts,
      h('h3', { id: 'charts-h' }, 'Inventory and reports'),
      chart,
      table(
        'Delivery and read rates per channel and market',
        ['Channel', 'Market', 'Sent', 'Delivery rate', 'Read rate', 'Cost'],
        rates.rows.map((r) => [r.channel, r.market, r.went, pct(r.deliveryRate), pct(r.readRate), r.cost.toFixed(2)]),
      ),
      table(
        'Held back by the pressure budget, per team',
        ['Team', 'Requested', 'Held back', 'Deferred', 'Dropped'],
        pressure.rows.map((r) => [r.team, r.requested, r.heldBack, r.deferred, r.dropped]),
      ),
      h('p', {}, h('a', { href: `/api/v1/reports/rates?${w}&format=csv` }, 'Download rates as CSV')),
    );
    if (channels.length > 0) {
      const bars = uPlot.paths.bars?.({ size: [0.6, 60] });
      const xs = channels.map((_, i) => i);
      const ys = channels.map((c) => inv.byChannel[c]?.messages ?? 0);
      new uPlot(
        {
          width: 480,
          height: 220,
          scales: { x: { time: false } },
          axes: [{ values: (_u, ticks) => ticks.map((t) => channels[t] ?? '') }, {}],
          series: [{}, { label: 'messages', fill: 'rgba(40,90,160,0.4)', stroke: '#285aa0', ...(bars ? { paths: bars } : {}) }],
        },
        [xs, ys],
        chart,
      );
    }
  }
}

const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)} %`);
