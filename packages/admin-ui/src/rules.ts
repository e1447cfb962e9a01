import { ApiError, api, type Session } from './api';
import { field, h, mount, status, table } from './dom';
import { RulesetEditor } from './editor';

interface Problem {
  path: string;
  message: string;
}
interface DiffItem {
  section: string;
  key: string;
  change: string;
  pointer: string;
  changes: Array<{ op: string; pointer: string; from?: unknown; to?: unknown }>;
}
interface Tally {
  send: number;
  defer: number;
  suppress: number;
  review: number;
  cost: number;
  channels: Record<string, number>;
}
interface ExampleSide {
  outcome: string;
  channel: string | null;
  sendAt: string | null;
  reasons: Array<{ code: string; message: string; rule?: string }>;
}

const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));
const tally = (t: Tally) => `send ${t.send} · defer ${t.defer} · suppress ${t.suppress} · review ${t.review} · cost ${t.cost.toFixed(2)}`;

/** Rules and journeys: editor, diff, dry run, publish, history, rollback, simulator. */
export async function rulesScreen(root: HTMLElement, session: Session): Promise<void> {
  const [active, schema] = await Promise.all([
    api<{ version: string; number: number; ruleset: unknown }>('GET', '/api/v1/rules'),
    api<Record<string, unknown>>('GET', '/api/v1/rules/schema'),
  ]);
  const admin = session.role === 'admin';
  let basedOn = active.number;
  let draftId: string | null = null;
  let dryRunId: string | null = null;
  const editorBox = h('div', { class: 'editor' });
  const problems = h('ul', { class: 'problems', 'aria-label': 'Validation problems' });
  const msg = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const diffBox = h('section', { 'aria-labelledby': 'diff-h' }, h('h3', { id: 'diff-h' }, 'Changes against the active version'));
  const impactBox = h('section', { 'aria-labelledby': 'impact-h' }, h('h3', { id: 'impact-h' }, 'Dry run'));
  const history = h('section', { 'aria-labelledby': 'history-h' });
  const type = h(
    'select',
    { id: 'dry-type' },
    ...['promotional', 'service', 'transactional', 'otp', 'rich', 'urgent'].map((t) => h('option', { value: t }, t)),
  );
  const reason = h('input', { id: 'publish-reason', type: 'text', placeholder: 'why this change', autocomplete: 'off' });

  mount(
    root,
    h('h2', {}, 'Rules and journeys'),
    h('p', {}, `Active: version ${active.number} (${active.version}). Edit below; the published schema checks and completes as you type.`),
    editorBox,
    msg,
    problems,
    admin
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: () => void saveDraft() }, 'Validate and save draft'),
          field('Message type for the dry run', type),
          h('button', { type: 'button', onclick: () => void dryRun() }, 'Dry run'),
          field('Reason for publishing', reason),
          h('button', { type: 'button', onclick: () => void publish() }, 'Publish'),
        )
      : h('p', {}, 'Agents can read the rules; publishing and rollback are for admins.'),
    diffBox,
    impactBox,
    history,
    h('section', { 'aria-labelledby': 'sim-h' }, h('h3', { id: 'sim-h' }, 'Journey simulator'), simulator()),
  );
  const editor = new RulesetEditor(editorBox, schema, JSON.stringify(active.ruleset, null, 2), 'Ruleset JSON');
  await loadHistory();

  function parsed(): unknown | null {
    try {
      return JSON.parse(editor.text);
    } catch (e) {
      status(msg, `The ruleset is not valid JSON: ${(e as Error).message}`, 'error');
      return null;
    }
  }

  async function saveDraft(): Promise<boolean> {
    const document = parsed();
    if (document === null) return false;
    const d = await api<{ id: string; valid: boolean; problems: Problem[]; diff: { items: DiffItem[] } }>('POST', '/api/v1/rules/drafts', {
      document,
    });
    draftId = d.valid ? d.id : null;
    dryRunId = null;
    mount(problems, ...d.problems.map((p) => h('li', {}, h('code', {}, p.path), ` ${p.message}`)));
    editor.showProblems(d.problems);
    renderDiff(d.diff.items);
    if (d.valid) status(msg, `Draft saved (${d.diff.items.length} change(s) against version ${basedOn}).`, 'ok');
    else status(msg, `The ruleset has ${d.problems.length} problem(s): it cannot be dry-run or published.`, 'error');
    return d.valid;
  }

  function renderDiff(items: DiffItem[]) {
    mount(
      diffBox,
      h('h3', { id: 'diff-h' }, 'Changes against the active version'),
      items.length === 0
        ? h('p', {}, 'No change.')
        : table(
            'Structural diff',
            ['Section', 'Item', 'Change', 'Where', 'Details'],
            items.map((i) => [
              i.section,
              i.key,
              i.change,
              h('code', {}, i.pointer),
              h(
                'ul',
                {},
                ...i.changes.slice(0, 6).map((c) => h('li', {}, h('code', {}, c.pointer), ` ${c.op}: ${show(c.from)} → ${show(c.to)}`)),
              ),
            ]),
          ),
    );
  }

  async function dryRun() {
    if (!(await saveDraft()) || draftId === null) return;
    status(msg, 'Dry run started…');
    const started = await api<{ id: string }>('POST', '/api/v1/rules/dry-run', {
      draftId,
      sample: { kind: 'contacts', messageTypes: [type.value] },
    });
    for (;;) {
      const r = await api<{ status: string; progress: number; error: string | null; result: { impact: Record<string, unknown> } | null }>(
        'GET',
        `/api/v1/rules/dry-runs/${started.id}`,
      );
      if (r.status === 'running') {
        status(msg, `Dry run: ${Math.round(r.progress * 100)} %`);
        await new Promise((res) => setTimeout(res, 300));
        continue;
      }
      if (r.status !== 'done' || r.result === null) {
        status(msg, `Dry run failed: ${r.error ?? 'unknown'}`, 'error');
        return;
      }
      dryRunId = started.id;
      renderImpact(r.result.impact as never);
      status(msg, 'Dry run done: the impact is below.', 'ok');
      return;
    }
  }

  function renderImpact(i: {
    contacts: number;
    changed: number;
    baseline: Tally;
    candidate: Tally;
    transitions: Record<string, number>;
    groups: Array<{
      team: string;
      workflow: string;
      messageType: string;
      market: string;
      decisions: number;
      changed: number;
      baseline: Tally;
      candidate: Tally;
    }>;
    examples: Record<string, Array<{ contactId: string; market: string; baseline: ExampleSide; candidate: ExampleSide }>>;
  }) {
    const reasons = (s: ExampleSide) =>
      h('ul', {}, ...s.reasons.slice(0, 6).map((r) => h('li', {}, `${r.code}${r.rule ? ` (${r.rule})` : ''}: ${r.message}`)));
    mount(
      impactBox,
      h('h3', { id: 'impact-h' }, 'Dry run'),
      h(
        'p',
        { class: 'impact-summary' },
        `${i.contacts} contacts, ${i.changed} decisions change. Active: ${tally(i.baseline)}. Candidate: ${tally(i.candidate)}.`,
      ),
      table(
        'Impact per team, workflow, message type and market',
        ['Team', 'Workflow', 'Type', 'Market', 'Decisions', 'Changed', 'Active version', 'Candidate'],
        i.groups.map((g) => [g.team, g.workflow, g.messageType, g.market, g.decisions, g.changed, tally(g.baseline), tally(g.candidate)]),
      ),
      ...Object.entries(i.examples).map(([t, list]) =>
        table(
          `Examples: ${t} (${i.transitions[t] ?? 0})`,
          ['Contact', 'Market', 'Active version says', 'Candidate says'],
          list.map((e) => [
            e.contactId,
            e.market,
            h('div', {}, `${e.baseline.outcome} ${e.baseline.channel ?? ''}`, reasons(e.baseline)),
            h('div', {}, `${e.candidate.outcome} ${e.candidate.channel ?? ''}`, reasons(e.candidate)),
          ]),
        ),
      ),
    );
  }

  async function publish() {
    if (reason.value.trim().length < 3) {
      status(msg, 'Say why you publish (a reason of at least 3 characters).', 'error');
      reason.focus();
      return;
    }
    if (!(await saveDraft()) || draftId === null) return;
    try {
      const r = await api<{ number: number }>('POST', '/api/v1/rules/versions', {
        draftId,
        reason: reason.value.trim(),
        basedOn,
        ...(dryRunId !== null ? { dryRunId } : {}),
      });
      basedOn = r.number;
      status(msg, `Published as version ${r.number}.`, 'ok');
      reason.value = '';
      await loadHistory();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        status(msg, `Someone published version ${String(e.body.current)} meanwhile: review its changes, then publish again.`, 'error');
        renderDiff((e.body.diff as { items: DiffItem[] }).items);
        basedOn = Number(e.body.current);
      } else throw e;
    }
  }

  async function loadHistory() {
    const v = await api<{
      active: number;
      items: Array<{ number: number; label: string; author: string; reason: string; createdAt: string; active: boolean }>;
    }>('GET', '/api/v1/rules/versions?limit=20');
    basedOn = v.active;
    mount(
      history,
      h('h3', { id: 'history-h' }, 'Version history'),
      table(
        'Published versions',
        ['Version', 'Label', 'Author', 'When', 'Reason', ''],
        v.items.map((x) => [
          x.number,
          x.label,
          x.author,
          x.createdAt.slice(0, 16).replace('T', ' '),
          x.reason,
          x.active
            ? h('strong', {}, 'active')
            : admin
              ? h('button', { type: 'button', onclick: () => void rollback(x.number) }, `Roll back to version ${x.number}`)
              : '',
        ]),
      ),
    );
  }

  async function rollback(to: number) {
    const why = reason.value.trim() || `rolled back to version ${to} from the console`;
    const r = await api<{ active: number; label: string }>('POST', '/api/v1/rules/rollback', { to, reason: why });
    status(msg, `Version ${r.active} (${r.label}) is active again.`, 'ok');
    const now = await api<{ ruleset: unknown }>('GET', '/api/v1/rules');
    editor.text = JSON.stringify(now.ruleset, null, 2);
    await loadHistory();
  }
}

/** "invoice.overdue at day 0" lines → events. */
function parseScript(text: string): Array<{ type: string; day: number }> {
  return text
    .split(/[\n,;]+/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?:\s+at\s+day\s+(\d+(?:\.\d+)?))?$/i.exec(l);
      if (m === null) throw new Error(`"${l}": write lines like "invoice.paid at day 4"`);
      return { type: (m[1] ?? '').toLowerCase(), day: Number(m[2] ?? 0) };
    });
}

function simulator(): HTMLElement {
  const journey = h('input', { type: 'text', value: 'payment-reminder', autocomplete: 'off' });
  const market = h('input', { type: 'text', value: 'KE', autocomplete: 'off' });
  const script = h('textarea', { rows: 3 }, 'invoice.overdue at day 0\ninvoice.paid at day 4');
  const out = h('div', { 'aria-live': 'polite' });
  const run = async () => {
    try {
      const events = parseScript(script.value).map((e) => ({ ...e, object: { type: 'invoice', id: 'sim-1' } }));
      const r = await api<{ timeline: Array<Record<string, unknown>>; final: { status: string; outcome: string | null } }>(
        'POST',
        '/api/v1/journeys/simulate',
        {
          journeyId: journey.value.trim(),
          contact: { identities: [{ kind: 'phone', value: '+254700000999' }], market: market.value.trim().toUpperCase() },
          events,
        },
      );
      mount(
        out,
        h(
          'ol',
          { class: 'timeline', 'aria-label': 'Simulated timeline' },
          ...r.timeline.map((e) =>
            h(
              'li',
              {},
              `${String(e.at).slice(0, 16).replace('T', ' ')} · ${String(e.kind)}${e.step ? ` ${String(e.step)}` : ''}${e.type ? ` ${String(e.type)}` : ''}${e.outcome ? ` → ${String(e.outcome)}` : ''}${e.channel ? ` by ${String(e.channel)}` : ''}${e.until ? ` until ${String(e.until).slice(0, 16)}` : ''}${e.reason ? ` (${String(e.reason)})` : ''}`,
            ),
          ),
        ),
        h('p', {}, `Final: ${r.final.status}${r.final.outcome ? `, ${r.final.outcome}` : ''}`),
      );
    } catch (e) {
      mount(out, h('p', { class: 'status error' }, (e as Error).message));
    }
  };
  return h(
    'div',
    {},
    field('Journey', journey),
    field('Contact market', market),
    field('Events (one per line: type at day N)', script),
    h('button', { type: 'button', onclick: () => void run() }, 'Simulate'),
    out,
  );
}
