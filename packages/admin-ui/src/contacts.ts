import { api } from './api';
import { field, h, mount, table } from './dom';

interface Summary {
  id: string;
  market: string | null;
  identities: Array<{ kind: string; value: string }>;
}

/** Contacts: search, then the agent's view (timeline, consent, journeys, next sends, every decision's reasons). */
export function contactsScreen(root: HTMLElement): void {
  const q = h('input', { type: 'search', placeholder: 'phone, email, CRM id (prefix*)', autocomplete: 'off' });
  const results = h('div', { 'aria-live': 'polite' });
  const detail = h('section', { 'aria-labelledby': 'contact-h' });
  const search = async (e?: Event) => {
    e?.preventDefault();
    const value = q.value.trim();
    const r = await api<{ items: Summary[] }>('GET', `/api/v1/contacts?limit=20${value ? `&identity=${encodeURIComponent(value)}` : ''}`);
    mount(
      results,
      r.items.length === 0
        ? h('p', {}, 'No contact found.')
        : h(
            'ul',
            { class: 'results', 'aria-label': 'Contacts found' },
            ...r.items.map((c) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', class: 'link', onclick: () => void open(c.id) },
                  `${c.identities.map((i) => i.value).join(', ') || c.id} (${c.market ?? '—'})`,
                ),
              ),
            ),
          ),
    );
  };
  const open = async (id: string) => {
    const [c, decisions, scheduled] = await Promise.all([
      api<{
        contact: { id: string; market?: string; timezone?: string };
        timeline: Array<{ at: string; kind: string; type: string; status?: string; channel?: string | null }>;
        sent: Array<{
          at: string;
          channel: string;
          provider: string;
          providerMessageId: string | null;
          status: string;
          content: Record<string, unknown> | null;
          language: string | null;
          encoding: string | null;
          segments: number | null;
          cost: number;
          error: string | null;
        }>;
        journeys: Array<{ journeyId: string; status: string }>;
        consent: Array<{ channel: string; purpose: string; status: string; source: string; at: string }>;
      }>('GET', `/api/v1/contacts/${id}`),
      api<{
        decisions: Array<{
          messageId: string;
          status: string;
          decision: {
            outcome: string;
            messageType: string;
            sendAt: string | null;
            reasons: Array<{ stage: string; code: string; message: string }>;
          };
        }>;
      }>('GET', `/api/v1/contacts/${id}/decisions`),
      api<{ items: Array<{ kind: string; dueAt: string; template?: string | null; journeyId?: string | null }> }>(
        'GET',
        `/api/v1/contacts/${id}/scheduled`,
      ),
    ]);
    mount(
      detail,
      h('h3', { id: 'contact-h', tabindex: -1 }, `Contact ${c.contact.id}`),
      h('p', {}, `Market ${c.contact.market ?? '—'}, time zone ${c.contact.timezone ?? '—'}`),
      table(
        'Timeline (what was actually sent, and what happened)',
        ['When', 'What', 'Type', 'Status', 'Channel'],
        c.timeline.map((t) => [t.at.slice(0, 16).replace('T', ' '), t.kind, t.type, t.status ?? '', t.channel ?? '']),
      ),
      table(
        'What was sent (per attempt)',
        ['When', 'Channel', 'Provider', 'Provider id', 'Status', 'Language', 'SMS', 'Cost', 'Content'],
        c.sent.map((a) => [
          a.at.slice(0, 16).replace('T', ' '),
          a.channel,
          a.provider,
          a.providerMessageId ?? '',
          a.error === null ? a.status : `${a.status}: ${a.error}`,
          a.language ?? '',
          a.segments === null ? '' : `${a.segments} × ${a.encoding ?? ''}`,
          String(a.cost),
          contentText(a.content),
        ]),
      ),
      table(
        'Consent ledger',
        ['Channel', 'Purpose', 'Status', 'Source', 'When'],
        c.consent.map((x) => [x.channel, x.purpose, x.status, x.source, x.at.slice(0, 16)]),
      ),
      table(
        'Journeys',
        ['Journey', 'Status'],
        c.journeys.map((j) => [j.journeyId, j.status]),
      ),
      table(
        'Next sends and timers',
        ['When', 'Kind', 'What'],
        scheduled.items.map((s) => [s.dueAt.slice(0, 16).replace('T', ' '), s.kind, s.template ?? s.journeyId ?? '']),
      ),
      h('h4', {}, 'Decisions and their reasons'),
      ...decisions.decisions.map((d) =>
        h(
          'details',
          { open: true },
          h('summary', {}, `${d.decision.messageType}: ${d.decision.outcome} (${d.status})`),
          h('ul', { class: 'reasons' }, ...d.decision.reasons.map((r) => h('li', {}, `[${r.stage}] ${r.code}: ${r.message}`))),
        ),
      ),
    );
    detail.querySelector('h3')?.focus();
  };
  mount(
    root,
    h('h2', {}, 'Contacts'),
    h(
      'form',
      { role: 'search', onsubmit: (e: Event) => void search(e) },
      field('Find a contact', q),
      h('button', { type: 'submit' }, 'Search'),
    ),
    results,
    detail,
  );
}

/** The words of what was sent, whatever its kind (text, rich, voice script, USSD menu, email). */
function contentText(c: Record<string, unknown> | null): string {
  if (c === null) return '';
  const pick = (k: string) => (typeof c[k] === 'string' ? (c[k] as string) : '');
  const words = c.kind === 'email' ? `${pick('subject')}: ${pick('text')}` : pick('text') || pick('body') || pick('script');
  return words.length > 160 ? `${words.slice(0, 160)}…` : words;
}
