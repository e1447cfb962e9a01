import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { warningsThrottled } from './log-throttle.js';
import { createLogger } from './logger.js';

function captured() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger('info', sink), lines };
}

describe('warnings throttled per kind', () => {
  it('writes a kind once per interval and tells how many were left out with the next line', async () => {
    const { log, lines } = captured();
    let t = 0;
    const w = warningsThrottled(log, 10_000, () => t);
    for (let i = 0; i < 1000; i++) w.warn({ provider: 'sandbox', reason: 'mismatch', path: `/hooks/${i}` }, 'provider hook refused');
    // another provider, and another message, are kinds of their own
    w.warn({ provider: 'twilio' }, 'provider hook refused');
    w.warn('not ready');
    w.warn('not ready');
    t = 10_000;
    w.warn({ provider: 'sandbox', reason: 'stale', path: '/hooks/x' }, 'provider hook refused');
    w.warn('not ready');
    // what is not a warning passes through untouched
    w.info({ n: 1 }, 'info');
    w.error({ n: 2 }, 'error');
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.provider ?? null, l.alsoSince ?? null, l.path ?? null])).toEqual([
      ['provider hook refused', 'sandbox', null, '/hooks/0'],
      ['provider hook refused', 'twilio', null, null],
      ['not ready', null, null, null],
      ['provider hook refused', 'sandbox', 999, '/hooks/x'],
      ['not ready', null, 1, null],
      ['info', null, null, null],
      ['error', null, null, null],
    ]);
    // a child logger and the level still work through it
    expect(w.level).toBe('info');
    expect(typeof w.child({ a: 1 }).info).toBe('function');
  });

  it('remembers a bounded number of kinds', async () => {
    const { log, lines } = captured();
    const w = warningsThrottled(log, 10_000, () => 0);
    for (let i = 0; i < 1_500; i++) w.warn({ provider: `p${i}` }, 'refused');
    // the first kinds were forgotten: written again
    w.warn({ provider: 'p0' }, 'refused');
    w.warn({ provider: 'p1499' }, 'refused');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1_501);
  });

  it('keeps an Error given first, and tells dependencies apart', async () => {
    const { log, lines } = captured();
    let t = 0;
    const w = warningsThrottled(log, 10_000, () => t);
    w.warn(new Error('boom'), 'failed');
    w.warn(new Error('boom again'), 'failed');
    t = 10_000;
    w.warn(new Error('third'), 'failed');
    w.warn({ dependency: 'the store' }, 'not ready');
    w.warn({ dependency: 'redis' }, 'not ready');
    await new Promise((r) => setImmediate(r));
    expect(
      lines.map((l) => [l.msg, (l.err as { message?: string } | undefined)?.message ?? null, l.alsoSince ?? null, l.dependency ?? null]),
    ).toEqual([
      ['failed', 'boom', null, null],
      ['failed', 'third', 1, null],
      ['not ready', null, null, 'the store'],
      ['not ready', null, null, 'redis'],
    ]);
  });
});
