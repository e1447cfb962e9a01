import { afterEach, describe, expect, it } from 'vitest';
import { limitersContract } from '../testing/limiters-contract.js';
import { dropPrefix, testPrefix, testRedis } from '../testing/test-redis.js';
import { RedisLimiters } from './redis-limiters.js';

const peers = async (prefix = testPrefix(), jobExpirationMs?: number) => {
  const options = { prefix, ...(jobExpirationMs !== undefined ? { jobExpirationMs } : {}) };
  const a = new RedisLimiters({ client: await testRedis(), ...options });
  const b = new RedisLimiters({ client: await testRedis(), ...options });
  return {
    a,
    b,
    async close() {
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    },
  };
};

// two instances: two factories, each with its own connections, on one Redis and one prefix
limitersContract('Redis (two instances)', () => peers());

describe('RedisLimiters', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  it("a crashed instance's running job gives its slot back when it expires", async () => {
    const p = await peers(testPrefix(), 300);
    close = p.close;
    const stuck = p.a.limiter('crm:crash', { maxConcurrent: 1 });
    // a's job never finishes; then a goes away without a word
    const never = stuck.schedule(() => new Promise(() => undefined)).catch((e: Error) => e.message);
    for (let i = 0; stuck.counts().EXECUTING === 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stuck.counts().EXECUTING).toBe(1);
    await p.a.close();
    // b's job runs once a's has expired (without expiry it would wait for ever)
    await expect(p.b.limiter('crm:crash', { maxConcurrent: 1 }).schedule(async () => 'ran')).resolves.toBe('ran');
    expect(await never).toMatch(/timed out/);
  });

  it('instances with different prefixes do not share', async () => {
    const one = await peers();
    const two = await peers();
    close = async () => {
      await one.close();
      await two.close();
    };
    await one.a.limiter('sender:sms', { reservoir: 1 }).schedule(async () => 1);
    expect(await one.b.limiter('sender:sms', { reservoir: 1 }).currentReservoir()).toBe(0);
    expect(await two.a.limiter('sender:sms', { reservoir: 1 }).currentReservoir()).toBe(1);
  });
});
