import type { Receipt } from '@signalbox/engine';
import type { Receipts } from '../delivery/receipts.js';
import type { InboxRequest, InboxRequestResult } from '../store/accept-checked.js';
import type { Store } from '../store/store.js';

/**
 * The writes the HTTP thread makes on every hot request: accepted events into the inbox, provider
 * receipts applied. On the embedded profile they are made by the worker thread's connection
 * (`ThreadHost.hotWrites`), so SQLite's one write lock has one holder; elsewhere, and whenever the
 * worker thread is not there, on this thread (`localHotWrites`).
 */
export interface HotWrites {
  /**
   * Stores requests' rows (unique on source and event id), each request only if the contacts it
   * names are stored (`Store.acceptChecked`); resolves with what became of each.
   */
  acceptInbox(requests: InboxRequest[]): Promise<InboxRequestResult[]>;
  /** Applies a batch of one provider's receipts in order. */
  receipts(provider: string, list: readonly Receipt[]): Promise<Array<'applied' | 'parked'>>;
}

export function localHotWrites(store: Store, receipts: Receipts): HotWrites {
  return {
    acceptInbox: (requests) => store.acceptChecked(requests),
    receipts: (provider, list) => receipts.apply(provider, list),
  };
}
