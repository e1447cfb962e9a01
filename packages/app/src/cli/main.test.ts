import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_RULESET } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { runCli } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'signalbox-cli-'));
const file = (name: string, data: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return name;
};
/** Runs the CLI as its entry does, with the app's configuration (DATA_DIR in this test's directory). */
async function runIn(cwd: string, env: Record<string, string>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    path: (p) => resolve(cwd, p),
    now: () => new Date('2026-11-23T07:00:00Z'),
    config: loadConfig(env),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
const run = (...argv: string[]) => runIn(dir, { DATA_DIR: join(dir, 'data') }, ...argv);

describe('signalbox CLI', () => {
  const contact = file('contact.json', {
    id: 'c-1',
    market: 'KE',
    timezone: 'Africa/Nairobi',
    identities: [{ kind: 'phone', value: '+254700000001' }],
  });
  const otp = file('otp.json', { type: 'otp' });

  it('rules validate: a good ruleset exits 0', async () => {
    const r = await run('rules', 'validate', file('good.json', DEFAULT_RULESET));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid \(version default-2026\.12, 25 rules, 9 journeys\)/);
  });

  it('rules validate: a bad ruleset exits 1 and lists every problem with its path', async () => {
    const bad = structuredClone(DEFAULT_RULESET) as { rules: Array<{ conditions: unknown }>; quietHours: { default: unknown } };
    (bad.rules[4] as { conditions: unknown }).conditions = {
      any: [
        { fact: 'message', path: 'type', operator: 'equal', value: 'x' },
        { fact: 'message', path: 'type', operator: 'looksLike', value: 'o' },
      ],
    };
    bad.quietHours.default = { start: '8', end: '21:00' };
    const r = await run('rules', 'validate', file('bad.json', bad));
    expect(r.code).toBe(1);
    expect(r.err).toContain('/rules/4/conditions/any/1/operator');
    expect(r.err).toContain('/quietHours/default/start');
  });

  it('decide prints the decision and its reasons readably', async () => {
    const r = await run('decide', '--contact', contact, '--message', otp, '--at', '2026-11-23T00:00:00Z');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Decision: SEND');
    expect(r.out).toMatch(/0 {2}primary {3}sms/);
    expect(r.out).toContain('(03:00 Africa/Nairobi)');
    expect(r.out).toContain('quiet_hours_bypassed');
  });

  it('decide --json prints the decision document; --ruleset takes another ruleset', async () => {
    const r = await run('decide', '--ruleset', 'good.json', '--contact', contact, '--message', otp, '--json');
    expect(JSON.parse(r.out).plan[0].channel).toBe('sms');
  });

  it('bad input files and usage errors have their own exit codes', async () => {
    expect((await run('decide', '--contact', contact, '--message', file('bad-msg.json', { type: 'telegram' }))).code).toBe(1);
    expect((await run('decide', '--contact', contact, '--message', 'missing.json')).code).toBe(2);
    expect((await run('decide', '--contact', contact, '--message', file('broken.json', '{nope'))).code).toBe(2);
    expect((await run('decide', '--contact', contact)).code).toBe(2);
    expect((await run('decide', '--contact', contact, '--message', otp, '--bogus')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('decide', '--ruleset', 'bad.json', '--contact', contact, '--message', otp)).code).toBe(1);
  });
});
