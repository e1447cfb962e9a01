import { createHmac } from 'node:crypto';
import { Keyv } from 'keyv';
import { describe, expect, it } from 'vitest';
import type { ApiKey } from '../config.js';
import { ConsoleSessions, SignedOut } from './sessions.js';

const T = Date.parse('2026-11-23T09:00:00Z');
const key: ApiKey = { name: 'ops', role: 'admin', secret: 'admin-key-0123456789abcdefghij' };

describe('console sessions', () => {
  it('last as long as the key signed in with: removed, rotated or given another role, its sessions end', () => {
    const sessions = new ConsoleSessions('console-session-secret-0123456789abcdef');
    const { cookie } = sessions.issue({ name: 'ops', role: 'admin', secret: key.secret }, T);
    const s = sessions.read(cookie, T + 1) as NonNullable<ReturnType<ConsoleSessions['read']>>;
    expect(s).not.toBeNull();
    expect(JSON.stringify(s)).not.toContain(key.secret);
    expect(sessions.keyStillValid(s, [key])).toBe(true);
    expect(sessions.keyStillValid(s, [])).toBe(false);
    expect(sessions.keyStillValid(s, [{ ...key, role: 'agent' }])).toBe(false);
    expect(sessions.keyStillValid(s, [{ ...key, secret: 'rotated-key-0123456789abcdefghij' }])).toBe(false);
    expect(sessions.keyStillValid(s, [{ ...key, name: 'someone-else' }])).toBe(false);
    // a session from before this check (no key tag), signed as sessions are, does not count
    const old = Buffer.from(JSON.stringify({ name: 'ops', role: 'admin', csrf: 'x', exp: T + 1000 })).toString('base64url');
    const mac = createHmac('sha256', Buffer.from('console-session-secret-0123456789abcdef')).update(old).digest('base64url');
    expect(sessions.read(`${old}.${mac}`, T)).toBeNull();
    const tagged = Buffer.from(JSON.stringify({ name: 'ops', role: 'admin', csrf: 'x', exp: T + 1000, k: 'tag' })).toString('base64url');
    const taggedMac = createHmac('sha256', Buffer.from('console-session-secret-0123456789abcdef')).update(tagged).digest('base64url');
    expect(sessions.read(`${tagged}.${taggedMac}`, T)).not.toBeNull();
  });

  it('signed out, a session is refused until it would have expired anyway', async () => {
    const sessions = new ConsoleSessions('console-session-secret-0123456789abcdef');
    const out = new SignedOut(new Keyv());
    const a = sessions.issue({ name: 'ops', role: 'admin', secret: key.secret }, T).data;
    const b = sessions.issue({ name: 'ops', role: 'admin', secret: key.secret }, T).data;
    await out.add(a, T);
    expect(await out.has(a)).toBe(true);
    expect(await out.has(b)).toBe(false);
    // the cache unreachable (Redis down): a coded 503, not a 500
    const down = new SignedOut({
      get: () => Promise.reject(new Error('ECONNREFUSED')),
      set: () => Promise.reject(new Error('ECONNREFUSED')),
    });
    await expect(down.has(a)).rejects.toMatchObject({ status: 503, code: 'CACHE_UNAVAILABLE' });
    await expect(down.add(a, T)).rejects.toMatchObject({ status: 503, code: 'CACHE_UNAVAILABLE' });
  });
});
