import type { Receipt } from '@signalbox/engine';
import type { InboxTable } from '../store/schema.js';
import type { Runtime } from './runtime.js';

/**
 * The writes the HTTP thread makes on every hot request: accepted events into the inbox, provider
 * receipts applied. On the embedded profile they are made by the worker thread's connection
 * (`ThreadWorker.hotWrites`), so SQLite's one write lock has one holder; elsewhere, and whenever
 * the worker thread is not there, by the HTTP thread's own runtime (`localHotWrites`).
 */
export interface HotWrites {
  /** Stores the rows (unique on source and event id); resolves with the ids of those that were new. */
  insertInbox(rows: InboxTable[]): Promise<Set<string>>;
  /** Applies a batch of one provider's receipts in order. */
  receipts(provider: string, list: readonly Receipt[]): Promise<Array<'applied' | 'parked'>>;
}

export function localHotWrites(runtime: Runtime): HotWrites {
  return {
    insertInbox: (rows) => runtime.store.insertInboxRows(rows),
    receipts: (provider, list) => runtime.receipts(provider, list),
  };
}
