import type { CrmConnector } from '@signalbox/connectors';
import type { Logger } from '../logger.js';
import type { CrmAccounts } from './crm-accounts.js';
import type { CrmPeople, PeopleStore } from './crm-people.js';
import type { CrmSyncCursors } from './crm-sync-cursors.js';

export interface SyncStore extends PeopleStore {
  crmSync: CrmSyncCursors;
  crmAccounts: CrmAccounts;
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

/** Pages per account per round of the initial sync (the rest follows in the next rounds). */
const PAGES_PER_ROUND = 5;
/** Pages of changes per account per sweep. */
const SWEEP_PAGES = 50;

/**
 * People from a CRM: the initial sync pages through everyone (resumable from its stored cursor
 * after a crash or a stop), then a changed-since sweep repairs what real-time events missed,
 * moving its watermark forward as it goes. The same for every CRM; the connector pages.
 */
export class CrmSync {
  private readonly lastSweep = new Map<string, number>();

  constructor(
    private readonly d: {
      connector: CrmConnector;
      people: CrmPeople;
      store: SyncStore;
      now: () => number;
      log: Logger;
      /** How often the repair sweep runs per account. */
      sweepEveryMs?: number;
      /**
       * This instance, and how long its claim on a sync holds without a round renewing it: with
       * several instances, each account's initial sync and sweep run on one of them at a time.
       */
      claim?: { owner: string; ms: number };
    },
  ) {}

  private get crm(): string {
    return this.d.connector.crm;
  }

  /** After an install: the initial sync starts (in the worker's next rounds). */
  begin(account: string): Promise<void> {
    return this.d.store.crmSync.begin(this.crm, account, 'initial', null, this.d.now());
  }

  /** The initial sync: every person, page by page, resumable from the stored cursor. */
  async initial(account: string, maxPages = Number.POSITIVE_INFINITY): Promise<{ pages: number; contacts: number; done: boolean }> {
    let state = await this.d.store.crmSync.get(this.crm, account, 'initial');
    if (state?.done) return { pages: 0, contacts: state.count, done: true };
    if (state === null) {
      await this.d.store.crmSync.begin(this.crm, account, 'initial', null, this.d.now());
      state = await this.d.store.crmSync.get(this.crm, account, 'initial');
    }
    let cursor = state?.cursor ?? null;
    let pages = 0;
    let count = state?.count ?? 0;
    // the sweep starts where the sync began: what changed meanwhile is caught
    const since = state?.startedAt ?? this.d.now();
    while (pages < maxPages) {
      const page = await this.d.connector.syncPage(account, cursor);
      // a page not ready yet (a Bulk API job still running) comes back empty with the same cursor
      if (page.people.length === 0 && page.next === cursor && cursor !== null) break;
      if (page.people.length > 0) await this.d.store.transaction((tx) => this.d.people.storeMany(tx, page.people));
      pages++;
      count += page.people.length;
      cursor = page.next;
      const done = cursor === null;
      await this.d.store.crmSync.save(this.crm, account, 'initial', { cursor, done, count }, this.d.now());
      if (done) {
        await this.d.store.crmSync.begin(this.crm, account, 'sweep', String(since), this.d.now());
        return { pages, contacts: count, done: true };
      }
    }
    return { pages, contacts: count, done: false };
  }

  /** The changed-since sweep: repairs what webhooks and change events missed. Returns how many people it stored. */
  async sweep(account: string): Promise<number> {
    const row = await this.d.store.crmSync.get(this.crm, account, 'sweep');
    if (row === null || row.cursor === null) return 0;
    let cursor: string | null = row.cursor;
    let watermark = row.cursor;
    let n = 0;
    for (let pages = 0; cursor !== null && pages < SWEEP_PAGES; pages++) {
      const page = await this.d.connector.changedSince(account, cursor);
      for (const p of page.people) if (!p.deleted) await this.d.people.store(this.d.store, p);
      n += page.people.length;
      watermark = page.watermark;
      cursor = page.next;
    }
    await this.d.store.crmSync.save(
      this.crm,
      account,
      'sweep',
      { cursor: cursor ?? watermark, done: false, count: row.count + n },
      this.d.now(),
    );
    return n;
  }

  /** Whether this instance may run the account's sync now (always, with one instance). */
  private async claim(account: string, kind: 'initial' | 'sweep', ms: number): Promise<boolean> {
    const c = this.d.claim;
    if (c === undefined) return true;
    const now = this.d.now();
    return this.d.store.crmSync.claim(this.crm, account, kind, c.owner, now, now + ms);
  }

  /** A few pages of each unfinished initial sync, and the sweep when it is due (a chore of the worker). */
  async round(): Promise<number> {
    let moved = 0;
    const active = new Set(await this.d.store.crmAccounts.active(this.crm));
    for (const account of await this.d.store.crmSync.unfinished(this.crm)) {
      if (!active.has(account)) continue;
      if (!(await this.claim(account, 'initial', this.d.claim?.ms ?? 0))) continue;
      try {
        moved += (await this.initial(account, PAGES_PER_ROUND)).pages;
      } catch (err) {
        this.d.log.warn({ crm: this.crm, account, err: (err as Error).message }, 'initial sync paused; will resume from its cursor');
      }
    }
    const every = this.d.sweepEveryMs ?? 15 * 60_000;
    for (const account of active) {
      if (this.d.now() - (this.lastSweep.get(account) ?? 0) < every) continue;
      this.lastSweep.set(account, this.d.now());
      // held for a whole period: another instance does not sweep the same account meanwhile
      if (!(await this.claim(account, 'sweep', every))) continue;
      try {
        await this.sweep(account);
      } catch (err) {
        this.d.log.warn({ crm: this.crm, account, err: (err as Error).message }, 'sweep failed; next round retries');
      }
    }
    return moved;
  }
}
