import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { defaultWorkerConcurrency } from './runtime.js';

describe('SIGNALBOX_API_KEYS', () => {
  const keys = (v: string) => () => loadConfig({ SIGNALBOX_API_KEYS: v });

  it('takes keys with names and secrets of their own', () => {
    expect(
      loadConfig({ SIGNALBOX_API_KEYS: 'ops:admin:0123456789abcdef-secret-one,desk:agent:0123456789abcdef-secret-two' }).SIGNALBOX_API_KEYS,
    ).toEqual([
      { name: 'ops', role: 'admin', secret: '0123456789abcdef-secret-one' },
      { name: 'desk', role: 'agent', secret: '0123456789abcdef-secret-two' },
    ]);
  });

  it('refuses one secret under two keys (it would be whichever role came first), naming them', () => {
    expect(keys('y:agent:0123456789abcdef-the-same-one,x:admin:0123456789abcdef-the-same-one')).toThrow(
      /one secret is given to more than one key \(y:agent, x:admin\)/,
    );
  });

  it('refuses one name twice (the audit log records names)', () => {
    expect(keys('x:admin:0123456789abcdef-secret-one,x:agent:0123456789abcdef-secret-two')).toThrow(
      /the key name "x" is given more than once/,
    );
  });
});

describe('WORKER_CONCURRENCY', () => {
  it('is unset by default (the instance then runs one side per core beyond the first) and takes 1 to 4', () => {
    expect(loadConfig({}).WORKER_CONCURRENCY).toBeUndefined();
    expect([1, 2, 3, 4, 5, 64].map((cores) => defaultWorkerConcurrency(cores))).toEqual([1, 1, 2, 3, 4, 4]);
    expect(loadConfig({ WORKER_CONCURRENCY: '1' }).WORKER_CONCURRENCY).toBe(1);
    expect(loadConfig({ WORKER_CONCURRENCY: '4' }).WORKER_CONCURRENCY).toBe(4);
    for (const bad of ['0', '5', '2.5', 'many']) expect(() => loadConfig({ WORKER_CONCURRENCY: bad })).toThrow(/WORKER_CONCURRENCY/);
  });
});
