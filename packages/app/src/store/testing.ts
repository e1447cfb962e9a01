import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenDatabase } from '../db/connection.js';
import { dropPostgresSchema, openPostgres } from '../db/postgres.js';
import { openSqlite } from '../db/sqlite.js';
import { Store } from './store.js';

/** Postgres for tests and CI: the machine's local server (trust auth), database `test`. */
export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface StoreFactory {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; db: OpenDatabase; dispose(): Promise<void> }>;
}

/** Both adapters, each opening a fresh database: a new SQLite file, or a new Postgres schema. */
export const storeFactories: StoreFactory[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'signalbox-store-'));
      const db = await openSqlite(join(dir, 'signalbox.db'));
      const store = new Store(db);
      return { store, db, dispose: () => store.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      const db = await openPostgres(TEST_DATABASE_URL, { schema, max: 5 });
      const store = new Store(db);
      return {
        store,
        db,
        async dispose() {
          await store.close();
          await dropPostgresSchema(TEST_DATABASE_URL, schema);
        },
      };
    },
  },
];
