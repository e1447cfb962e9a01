import './style.css';
import { activityScreen } from './activity';
import { ApiError, api, type Session, setSession } from './api';
import { contactsScreen } from './contacts';
import { field, h, mount, status } from './dom';
import { rulesScreen } from './rules';

const app = document.getElementById('app') as HTMLElement;

async function signIn(): Promise<void> {
  const key = h('input', { type: 'password', autocomplete: 'off', required: true });
  const msg = h('p', { role: 'status', 'aria-live': 'polite', class: 'status' });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const s = await api<Session>('POST', '/admin/session', { key: key.value });
      setSession(s);
      await shell(s);
    } catch (err) {
      status(msg, err instanceof ApiError ? (err.body.detail ?? 'not signed in') : String(err), 'error');
    }
  };
  mount(
    app,
    h(
      'main',
      { class: 'signin' },
      h('h1', {}, 'Signalbox admin'),
      h(
        'form',
        { onsubmit: (e: Event) => void submit(e) },
        field('API key (admin or agent)', key),
        h('button', { type: 'submit' }, 'Sign in'),
      ),
      msg,
    ),
  );
  key.focus();
}

const SCREENS = [
  ['rules', 'Rules and journeys'],
  ['activity', 'Activity'],
  ['contacts', 'Contacts'],
] as const;

async function shell(s: Session): Promise<void> {
  const main = h('main', { id: 'main', tabindex: -1 });
  const nav = h(
    'nav',
    { 'aria-label': 'Screens' },
    h('ul', {}, ...SCREENS.map(([id, label]) => h('li', {}, h('a', { href: `#/${id}` }, label)))),
  );
  const out = async () => {
    await api('DELETE', '/admin/session');
    setSession(null);
    location.hash = '';
    await signIn();
  };
  mount(
    app,
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h(
      'header',
      {},
      h('h1', {}, 'Signalbox admin'),
      h('p', {}, `Signed in as ${s.name} (${s.role})`),
      h('button', { type: 'button', onclick: () => void out() }, 'Sign out'),
      nav,
    ),
    main,
  );
  // a first start with no data: say how to get some
  void api<{ items: unknown[] }>('GET', '/api/v1/contacts?limit=1')
    .then((r) => {
      if (r.items.length === 0)
        main.before(
          h(
            'p',
            { class: 'notice', role: 'note' },
            'No contacts yet. To see every screen at work, run ',
            h('code', {}, 'pnpm demo'),
            ' in the project folder while Signalbox runs: it loads a few hundred demo contacts and runs the seed stories.',
          ),
        );
    })
    .catch(() => undefined);
  const route = async () => {
    const screen = location.hash.replace(/^#\//, '') || 'rules';
    for (const a of nav.querySelectorAll('a')) a.setAttribute('aria-current', a.getAttribute('href') === `#/${screen}` ? 'page' : 'false');
    try {
      if (screen === 'activity') await activityScreen(main, s);
      else if (screen === 'contacts') contactsScreen(main);
      else await rulesScreen(main, s);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return signIn();
      mount(main, h('p', { class: 'status error', role: 'alert' }, (err as Error).message));
    }
  };
  window.onhashchange = () => void route();
  await route();
}

api<Session>('GET', '/admin/session')
  .then(async (s) => {
    setSession(s);
    await shell(s);
  })
  .catch(() => signIn());
