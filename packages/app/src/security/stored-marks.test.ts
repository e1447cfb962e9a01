import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../db/sqlite.js';
import { OAuthState } from '../http/oauth-state.js';
import { createLogger } from '../logger.js';
import { Store } from '../store/store.js';
import { StoredMarks } from './stored-marks.js';

describe('StoredMarks', () => {
  it('keeps marks in the store until they expire, apart from signatures, and sets one atomically once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signalbox-marks-')), 'signalbox.db');
    let now = 1_000_000;
    const store = new Store(await openSqlite(file));
    const marks = new StoredMarks(store.seenSignatures, 'oauth-states', () => now);
    expect(await marks.get('a')).toBeUndefined();
    await marks.set('a', true, 1000);
    expect(await marks.get('a')).toBe(true);
    // a signature of the same text is another entry
    expect(await store.seenSignatures.firstUse('a', now, now + 1000)).toBe(true);
    // several at once: exactly one sets it
    const won = await Promise.all(Array.from({ length: 5 }, () => marks.setIfAbsent('b', 1000)));
    expect(won.filter(Boolean)).toHaveLength(1);
    now += 1001;
    expect(await marks.get('a')).toBeUndefined();
    expect(await marks.setIfAbsent('b', 1000)).toBe(true);
    await marks.delete('b');
    expect(await marks.get('b')).toBeUndefined();
    await store.close?.();
    // kept over a restart
    const again = new Store(await openSqlite(file));
    const reopened = new StoredMarks(again.seenSignatures, 'oauth-states', () => now);
    await reopened.set('c', true, 1000);
    await again.close?.();
    const third = new Store(await openSqlite(file));
    expect(await new StoredMarks(third.seenSignatures, 'oauth-states', () => now).get('c')).toBe(true);
    await third.close?.();
  });

  it('makes an OAuth state good for one callback, even two at once', async () => {
    const store = new Store(await openSqlite(join(mkdtempSync(join(tmpdir(), 'signalbox-marks-')), 'signalbox.db')));
    const oauth = new OAuthState(
      'client-secret-0123456789',
      () => Date.now(),
      new StoredMarks(store.seenSignatures, 'oauth-states'),
      createLogger('silent'),
    );
    const state = oauth.issue();
    const outcomes = await Promise.allSettled([oauth.consume(state), oauth.consume(state)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    await store.close?.();
  });
});
