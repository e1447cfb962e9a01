import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { openSqlite } from '../db/sqlite.js';
import { DEMO_CONTACTS, demoContacts } from '../demo/demo-contacts.js';
import { RulesGovernance } from '../rules/governance.js';
import { RulesHolder } from '../rules/rules-holder.js';
import { Store } from '../store/store.js';
import { runCli } from './main.js';

const AT = '2026-11-23T07:00:00Z';
const dir = mkdtempSync(join(tmpdir(), 'signalbox-cli-gov-'));
const dataDir = join(dir, 'data');
const env = { DATA_DIR: dataDir };
const file = (name: string, data: unknown) => {
  writeFileSync(join(dir, name), typeof data === 'string' ? data : JSON.stringify(data));
  return name;
};
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    path: (p) => resolve(dir, p),
    now: () => new Date(AT),
    config: loadConfig(env),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

type Doc = { version: string; rules: unknown[]; quietHours: { default: { start: string } } };
/** The default ruleset with service messages suppressed in Kenya. */
const noServiceKe = (() => {
  const d = structuredClone(DEFAULT_RULESET) as unknown as Doc;
  d.version = 'no-service-ke';
  d.rules.unshift({
    name: 'no-service-ke',
    stage: 'guards',
    priority: 95,
    conditions: {
      all: [
        { fact: 'message', path: 'type', operator: 'equal', value: 'service' },
        { fact: 'contact', path: 'market', operator: 'equal', value: 'KE' },
      ],
    },
    event: { type: 'suppress', params: { reason: 'paused in Kenya' } },
  });
  return d;
})();
/** Demo contacts in Kenya (every 7th, as the demo spreads them over 7 markets). */
const KE = Math.ceil(DEMO_CONTACTS / 7);

describe('signalbox rules diff / dry-run and journey simulate', () => {
  const candidate = file('no-service-ke.json', noServiceKe);
  const same = file('default.json', DEFAULT_RULESET);

  it('rules diff of two files: the rule added, at its pointer; identical files say so; --json is the API diff', async () => {
    const r = await run('rules', 'diff', same, candidate);
    expect(r.code).toBe(0);
    expect(r.out).toContain('+ rules no-service-ke  (/rules/0)');
    expect(r.out).toMatch(/~ version/);
    expect((await run('rules', 'diff', same, same)).out).toBe('default.json and default.json are the same ruleset.');
    const json = JSON.parse((await run('rules', 'diff', same, candidate, '--json')).out);
    expect(json.items).toContainEqual(expect.objectContaining({ section: 'rules', key: 'no-service-ke', change: 'added' }));
  });

  it('rules dry-run FILE without a database: the demo contacts, the Kenyan ones suppressed, with examples and reasons', async () => {
    const r = await run('rules', 'dry-run', candidate, '--type', 'service');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`over the ${DEMO_CONTACTS} demo contacts × service`);
    expect(r.out).toMatch(new RegExp(`send→suppress\\s+${KE}`));
    expect(r.out).toMatch(/demo-0000 \(KE\): send by \w+ → suppress/);
    expect(r.out).toContain('candidate: no-service-ke: suppress: paused in Kenya');
    const json = JSON.parse((await run('rules', 'dry-run', candidate, '--type', 'service', '--json')).out);
    expect(json).toMatchObject({ contacts: DEMO_CONTACTS, changed: KE, transitions: { 'send→suppress': KE } });
  });

  it('refuses what cannot be dry-run or diffed, with exit codes: invalid ruleset 1, usage 2, no database 2', async () => {
    const broken = structuredClone(noServiceKe);
    broken.quietHours.default.start = '25:00';
    const bad = await run('rules', 'dry-run', file('broken.json', broken));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('/quietHours/default/start');
    expect((await run('rules', 'dry-run', candidate, '--type', 'telegram')).code).toBe(1);
    expect((await run('rules', 'dry-run')).code).toBe(2);
    expect((await run('rules', 'diff', same)).code).toBe(2);
    const noDb = await run('rules', 'diff', '1', '2');
    expect(noDb.code).toBe(2);
    expect(noDb.err).toBe(`no database at ${join(dataDir, 'signalbox.db')}: start the app (pnpm start) or load the demo (pnpm demo) first`);
    expect((await run('rules', 'dry-run', candidate, '--against-db')).code).toBe(2);
  });

  describe('with the app database', () => {
    let store: Store;
    beforeAll(async () => {
      mkdirSync(dataDir, { recursive: true });
      store = new Store(await openSqlite(join(dataDir, 'signalbox.db')));
      const at = Date.parse(AT);
      await store.contacts.insertMany(
        demoContacts(at).map((c, i) => ({
          id: `c-${String(i).padStart(4, '0')}`,
          contact: c.fields,
          identities: c.identities,
          consent: c.consent,
        })),
        at,
      );
      const gov = new RulesGovernance(new RulesHolder(loadRuleset(DEFAULT_RULESET)), new TestClock(new Date(AT)));
      await gov.active(store);
      await gov.publish(store, { document: noServiceKe, reason: 'pause Kenya', basedOn: 1, actor: 'admin:ops' });
    });
    afterAll(async () => store.close());

    it('rules diff of two stored versions, and of a version and a file', async () => {
      const r = await run('rules', 'diff', '1', '2');
      expect(r.code).toBe(0);
      expect(r.out).toContain('Changes from version 1 to version 2');
      expect(r.out).toContain('+ rules no-service-ke');
      expect((await run('rules', 'diff', '2', candidate)).out).toBe(`version 2 and ${candidate} are the same ruleset.`);
      const missing = await run('rules', 'diff', '1', '9');
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/version 9/);
    });

    it('rules dry-run --against-db: every stored contact against the active version, in its own thread, stored with author cli', async () => {
      // the active version (2) already suppresses Kenya: the default ruleset as candidate lets them through again
      const r = await run('rules', 'dry-run', same, '--against-db', '--type', 'service');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/against version 2 \(no-service-ke\), over 300 stored contacts × service/);
      expect(r.out).toMatch(new RegExp(`suppress→send\\s+${KE}`));
      const [stored] = await store.dryRuns.list(1);
      expect(stored).toMatchObject({ status: 'done', author: 'cli', baselineNumber: 2 });
    });

    it('journey simulate with a stored version', async () => {
      const r = await run(
        'journey',
        'simulate',
        '--journey',
        'payment-reminder',
        '--version',
        '1',
        '--events',
        'invoice.overdue',
        '--days',
        '2',
      );
      expect(r.code).toBe(0);
      expect(r.out).toContain('(ruleset default-2026.12)');
    });
  });

  it('journey simulate: the timeline of a payment reminder paid on day 4 — sends with reasons, waits, cancellation, goal', async () => {
    const r = await run(
      'journey',
      'simulate',
      '--journey',
      'payment-reminder',
      '--events',
      'invoice.overdue at day 0, invoice.paid at day 4',
      '--start',
      '2026-11-23T09:00:00Z',
    );
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('Journey payment-reminder (ruleset default-2026.12), simulated:');
    expect(r.out).toMatch(/2026-11-23 09:00 {2}send friendly \(\w+\) → send by sms/);
    expect(r.out).toMatch(/2026-11-27 09:00 {2}cancelled/);
    expect(lines.at(-1)).toMatch(/^Final: exited, goal; 2 send\(s\)/);
    const json = JSON.parse(
      (await run('journey', 'simulate', '--journey', 'payment-reminder', '--events', 'invoice.overdue; invoice.paid at day 4', '--json'))
        .out,
    );
    expect(json.final).toMatchObject({ status: 'exited', outcome: 'goal' });
    const bad = await run('journey', 'simulate', '--journey', 'payment-reminder', '--events', 'Invoice overdue yesterday');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('/events/0');
    const unknown = await run('journey', 'simulate', '--journey', 'nope', '--events', 'invoice.overdue');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('/journeyId');
    expect((await run('journey', 'simulate', '--events', 'invoice.overdue')).code).toBe(2);
  });

  it('runs as `pnpm signalbox` runs it: the entry process, paths from where it was typed, exit code and output', () => {
    const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', entry, 'rules', 'diff', same, candidate], {
      cwd: resolve(fileURLToPath(new URL('../..', import.meta.url))),
      env: { PATH: process.env.PATH ?? '', INIT_CWD: dir, DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('+ rules no-service-ke  (/rules/0)');
    const usage = spawnSync(process.execPath, ['--import', 'tsx', entry, 'rules', 'diff'], {
      cwd: resolve(fileURLToPath(new URL('../..', import.meta.url))),
      env: { PATH: process.env.PATH ?? '', INIT_CWD: dir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('signalbox rules diff A B');
  }, 90_000);
});
