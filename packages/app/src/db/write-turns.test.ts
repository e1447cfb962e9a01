import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../store/store.js';
import { openSqlite } from './sqlite.js';

describe('SQLite connections sharing write turns', () => {
  it('a refused writer says it waits, and goes as soon as the holder commits', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signalbox-turns-')), 'db.sqlite');
    const turns = new SharedArrayBuffer(8);
    const a = new Store(await openSqlite(file, { turns }));
    const b = new Store(await openSqlite(file, { turns }));
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let seenWaiting = false;
    const holder = a.transaction(async (tx) => {
      await tx.audit.record('a', 'hold', 'lock', {}, 1);
      await held;
      seenWaiting = tx.othersWaitingToWrite();
    });
    await new Promise((r) => setTimeout(r, 20));
    let doneAt = 0;
    const writer = b.audit.record('b', 'write', 'lock', {}, 2).then(() => {
      doneAt = performance.now();
    });
    // b keeps waiting (no error, no busy loop visible to a) while a holds the lock
    await new Promise((r) => setTimeout(r, 100));
    expect(a.othersWaitingToWrite()).toBe(true);
    expect(doneAt).toBe(0);
    const releasedAt = performance.now();
    release();
    await holder;
    await writer;
    expect(seenWaiting).toBe(true);
    // woken by the commit itself, not after a polling interval
    expect(doneAt - releasedAt).toBeLessThan(50);
    expect(a.othersWaitingToWrite()).toBe(false);
    await a.close();
    await b.close();
  });
});
