import type { HubspotCrm } from '@signalbox/connectors';
import type { ContactRepository } from '../../contacts/contact-repository.js';
import type { Logger } from '../../logger.js';
import type { CrmAccounts } from '../crm-accounts.js';
import type { CrmSyncCursors } from '../crm-sync-cursors.js';
import type { HubspotContacts } from './hubspot-contacts.js';

export interface SyncStore {
  contacts: ContactRepository;
  crmSync: CrmSyncCursors;
  crmAccounts: CrmAccounts;
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

/** Pages per portal per round of the initial sync (the rest follows in the next rounds). */
const PAGES_PER_ROUND = 5;

/**
 * Contacts from HubSpot: the initial sync pages through every contact (100 per page, resumable
 * from its stored cursor), then a modified-since sweep repairs what webhooks missed, moving its
 * watermark forward as it goes.
 */
export class HubspotSync {
  private readonly lastSweep = new Map<number, number>();

  constructor(
    private readonly d: {
      store: SyncStore;
      crm: HubspotCrm;
      contacts: HubspotContacts;
      now: () => number;
      log: Logger;
      /** How often the repair sweep runs per portal. */
      sweepEveryMs?: number;
    },
  ) {}

  /** After an install: the sync starts (in the worker's next rounds). */
  begin(portalId: number): Promise<void> {
    return this.d.store.crmSync.begin('hubspot', String(portalId), 'initial', null, this.d.now());
  }

  /** The initial sync: all contacts, 100 per page, resumable from the stored cursor. */
  async initial(portalId: number, maxPages = Number.POSITIVE_INFINITY): Promise<{ pages: number; contacts: number; done: boolean }> {
    const account = String(portalId);
    const state = await this.d.store.crmSync.get('hubspot', account, 'initial');
    if (state?.done) return { pages: 0, contacts: state.count, done: true };
    let cursor = state?.cursor ?? undefined;
    let pages = 0;
    let count = state?.count ?? 0;
    const started = this.d.now();
    while (pages < maxPages) {
      const page = await this.d.crm.contactsPage(portalId, cursor);
      await this.d.store.transaction(async (tx) => {
        for (const c of page.contacts) await this.d.contacts.upsert(tx.contacts, portalId, c);
      });
      pages++;
      count += page.contacts.length;
      cursor = page.next;
      const done = cursor === undefined;
      await this.d.store.crmSync.save('hubspot', account, 'initial', { cursor: cursor ?? null, done, count }, this.d.now());
      if (done) {
        // the sweep starts where the initial sync started: what changed meanwhile is caught
        await this.d.store.crmSync.begin('hubspot', account, 'sweep', String(started), this.d.now());
        return { pages, contacts: count, done: true };
      }
    }
    return { pages, contacts: count, done: false };
  }

  /** Modified-since sweep: repairs what webhooks missed. Returns how many contacts it stored. */
  async sweep(portalId: number): Promise<number> {
    const account = String(portalId);
    const row = await this.d.store.crmSync.get('hubspot', account, 'sweep');
    if (row === null) return 0;
    let since = Number(row.cursor ?? 0);
    let after: string | undefined;
    let n = 0;
    for (;;) {
      const page = await this.d.crm.modifiedSince(portalId, since, after);
      for (const c of page.contacts) await this.d.contacts.upsert(this.d.store.contacts, portalId, c);
      n += page.contacts.length;
      const last = page.contacts.at(-1);
      if (page.next === undefined) {
        if (last !== undefined) since = Math.max(since, Date.parse(last.updatedAt));
        break;
      }
      after = page.next;
    }
    await this.d.store.crmSync.save(
      'hubspot',
      account,
      'sweep',
      { cursor: String(since), done: false, count: row.count + n },
      this.d.now(),
    );
    return n;
  }

  /** A few pages of each unfinished initial sync, and the sweep when it is due (a chore of the worker). */
  async round(): Promise<number> {
    let moved = 0;
    const active = new Set((await this.d.store.crmAccounts.active('hubspot')).map(Number));
    for (const account of await this.d.store.crmSync.unfinished('hubspot')) {
      const portalId = Number(account);
      if (!active.has(portalId)) continue;
      try {
        moved += (await this.initial(portalId, PAGES_PER_ROUND)).pages;
      } catch (err) {
        this.d.log.warn({ portalId, err: (err as Error).message }, 'initial sync paused; will resume from its cursor');
      }
    }
    const every = this.d.sweepEveryMs ?? 15 * 60_000;
    for (const portalId of active) {
      if (this.d.now() - (this.lastSweep.get(portalId) ?? 0) < every) continue;
      this.lastSweep.set(portalId, this.d.now());
      try {
        await this.sweep(portalId);
      } catch (err) {
        this.d.log.warn({ portalId, err: (err as Error).message }, 'sweep failed; next round retries');
      }
    }
    return moved;
  }
}
