import { RedisLimiters } from '@signalbox/connectors';
import { dropPrefix, testPrefix, testRedis } from '@signalbox/connectors/testing';
import { describe, expect, it } from 'vitest';
import { SenderLimits } from './sender-limits.js';

describe('per-sender limits', () => {
  it('a message weighs its segments against its own sender’s budget only', async () => {
    const l = new SenderLimits({ perSecond: 10 });
    await l.schedule('+15005550006', 3, async () => 'sent');
    await l.schedule('+15005550006', 1, async () => 'sent');
    await l.schedule('+15005550007', 2, async () => 'sent');
    expect(await l.remaining('+15005550006')).toBe(6);
    expect(await l.remaining('+15005550007')).toBe(8);
    expect(await l.remaining('+15005550008')).toBeNull();
    await l.stop();
  });

  it('a message heavier than a second’s budget takes the whole second (it would otherwise never go)', async () => {
    const l = new SenderLimits({ perSecond: 2 });
    expect(await l.schedule('s', 7, async () => 'sent')).toBe('sent');
    expect(await l.remaining('s')).toBe(0);
    await l.stop();
  });
});

describe('per-sender limits shared by every instance (Redis)', () => {
  it('two instances sending from one sender stay within its rate together', async () => {
    const prefix = testPrefix();
    const instances = [new RedisLimiters({ client: await testRedis(), prefix }), new RedisLimiters({ client: await testRedis(), prefix })];
    const starts: number[] = [];
    try {
      const senders = instances.map((limiters) => new SenderLimits({ perSecond: 4, shared: { limiters, id: 'provider:twilio:sms' } }));
      // 12 segments from one sender, half on each instance, some messages of two segments
      await Promise.all(
        senders.flatMap((l) =>
          [1, 2, 1, 2].map((w) =>
            l.schedule('+15005550006', w, async () => {
              starts.push(performance.now());
            }),
          ),
        ),
      );
      await Promise.all(senders.map((l) => l.stop()));
    } finally {
      await Promise.all(instances.map((l) => l.close()));
      await dropPrefix(prefix);
    }
    starts.sort((a, b) => a - b);
    expect(starts).toHaveLength(8);
    // 12 segments at 4 a second between them: three seconds' budgets, so the last message waits for the
    // third (each instance on its own budget would send its 6 segments within two)
    expect((starts.at(-1) as number) - (starts[0] as number)).toBeGreaterThanOrEqual(1_900);
  }, 30_000);
});
