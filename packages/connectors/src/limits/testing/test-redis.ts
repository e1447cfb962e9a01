import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The machine's Redis (CI and the project machines run one), on a database the tests keep to themselves. */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379/11';

/** A key prefix no other test file or run shares (Redis pub/sub channels ignore databases: prefixes do not). */
export function testPrefix(): string {
  return `sbtest:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A connected client on the tests' database (not lazy: Bottleneck's duplicate of it must connect by itself). */
export async function testRedis(): Promise<Redis> {
  const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  return client;
}

/** Deletes every key under `prefix`. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = await testRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
    // Bottleneck's keys are b_<id>_…, with the prefix inside the id
    cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `b_${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
