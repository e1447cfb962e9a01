import type { Receipt } from '@signalbox/engine';
import type { InboxTable } from '../db/schema.js';
import type { Receipts } from '../delivery/receipts.js';
import type { InboxRepository } from './inbox-repository.js';

/**
 * The writes the HTTP thread makes on every hot request: accepted events into the inbox, provider
 * receipts applied. On the embedded profile they are made by the worker thread's connection
 * (`ThreadHost.hotWrites`), so SQLite's one write lock has one holder; elsewhere, and whenever the
 * worker thread is not there, on this thread (`localHotWrites`).
 */
export interface HotWrites {
  /** Stores the rows (unique on source and event id); resolves with the ids of those that were new. */
  insertInbox(rows: InboxTable[]): Promise<Set<string>>;
  /** Applies a batch of one provider's receipts in order. */
  receipts(provider: string, list: readonly Receipt[]): Promise<Array<'applied' | 'parked'>>;
}

export function localHotWrites(inbox: InboxRepository, receipts: Receipts): HotWrites {
  return {
    insertInbox: (rows) => inbox.insertRows(rows),
    receipts: (provider, list) => receipts.apply(provider, list),
  };
}
