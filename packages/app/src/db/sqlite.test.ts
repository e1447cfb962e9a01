import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from './sqlite.js';

describe('openSqlite', () => {
  it("makes a new database file, and the directory it makes for it, readable by the app's own user only", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'signalbox-sqlite-mode-')), 'data');
    const file = join(dir, 'signalbox.db');
    const db = await openSqlite(file);
    try {
      await db.db.selectFrom('contacts').select('id').execute();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(`${file}-wal`).mode & 0o077).toBe(0);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      await db.close();
    }
    // opened again, as it is
    const again = await openSqlite(file);
    await again.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
