/**
 * The initial sync of a HubSpot portal, page by page behind an opaque cursor. It starts by asking
 * how many contacts the portal holds (one search call, its `total`):
 * - up to `exportThreshold` (20,000 by default): the contacts list API, 100 a page (≤ 200
 *   requests, ≤ 20 s of the portal's 100 requests / 10 s);
 * - above it: one export of every contact through the CRM exports API, polled until COMPLETE
 *   (pages meanwhile come back empty with the same cursor: ask again later), then its file read as
 *   a stream, `exportPageSize` contacts a page. Paging a million contacts costs 10,000 requests,
 *   ≈ 17 minutes of the portal's whole budget, which webhooks and write-back need too; an export
 *   costs a handful of requests at any size.
 * A portal that did not grant `crm.export` (only a Super Admin can), or whose export was
 * cancelled, is paged instead. The cursor names the export and how many of its rows are stored, so
 * a restart reopens the file (a fresh URL from the status call) and skips those rows; between
 * pages the download stays open, read only as fast as pages are taken.
 */
import { ContactExport } from './contact-export.js';
import { CONTACT_PROPERTIES, type HubspotContact, type HubspotCrm } from './crm.js';
import { HubspotApiError } from './gateway.js';

export const DEFAULT_EXPORT_THRESHOLD = 20_000;
export const DEFAULT_EXPORT_PAGE_SIZE = 2_000;
/** An export still being written is asked about at most this often (each ask is one of the portal's requests). */
export const DEFAULT_EXPORT_POLL_MS = 5_000;

export type InitialCursor = { mode: 'page'; after: string | null } | { mode: 'export'; taskId: string; rows: number; complete: boolean };

export interface InitialPage {
  contacts: HubspotContact[];
  next: InitialCursor | null;
}

interface OpenFile {
  taskId: string;
  rows: number;
  batches: AsyncGenerator<HubspotContact[]>;
}

export interface InitialSyncOptions {
  exportThreshold?: number;
  exportPageSize?: number;
  /** How often an unfinished export's status is asked for (DEFAULT_EXPORT_POLL_MS). */
  exportPollMs?: number;
  /** How the export's file is downloaded (tests: a fetch that fails midway). */
  fetchFile?: typeof fetch;
  now?: () => number;
}

export class HubspotInitialSync {
  private readonly exporter: ContactExport;
  private readonly open = new Map<string, OpenFile>();
  /** When each unfinished export was last asked about. */
  private readonly polled = new Map<string, number>();

  constructor(
    private readonly crm: HubspotCrm,
    private readonly o: InitialSyncOptions = {},
  ) {
    this.exporter = new ContactExport(crm.gateway, o.fetchFile);
  }

  /** A stored cursor (JSON, or the plain `after` of syncs begun before exports) or null: start. */
  static parse(cursor: string | null): InitialCursor | null {
    if (cursor === null) return null;
    if (cursor.startsWith('{')) return JSON.parse(cursor) as InitialCursor;
    return { mode: 'page', after: cursor };
  }

  async page(portalId: number, cursor: InitialCursor | null): Promise<InitialPage> {
    if (cursor === null) return this.begin(portalId);
    if (cursor.mode === 'page') return this.listPage(portalId, cursor.after ?? undefined);
    return this.exportPage(portalId, cursor);
  }

  /** Stops reading any open export file (the sync is paused or the process stops). */
  async close(): Promise<void> {
    for (const f of this.open.values()) await f.batches.return(undefined);
    this.open.clear();
  }

  private async begin(portalId: number): Promise<InitialPage> {
    const total = await this.crm.contactTotal(portalId);
    if (total <= (this.o.exportThreshold ?? DEFAULT_EXPORT_THRESHOLD)) return this.listPage(portalId, undefined);
    try {
      const taskId = await this.exporter.start(portalId, CONTACT_PROPERTIES, `Signalbox initial sync ${portalId}`);
      return { contacts: [], next: { mode: 'export', taskId, rows: 0, complete: false } };
    } catch (e) {
      // crm.export not granted: page instead
      if (e instanceof HubspotApiError && e.status === 403) return this.listPage(portalId, undefined);
      throw e;
    }
  }

  private async listPage(portalId: number, after: string | undefined): Promise<InitialPage> {
    const p = await this.crm.contactsPage(portalId, after);
    return { contacts: p.contacts, next: p.next === undefined ? null : { mode: 'page', after: p.next } };
  }

  private async exportPage(portalId: number, c: Extract<InitialCursor, { mode: 'export' }>): Promise<InitialPage> {
    const key = `${portalId}:${c.taskId}`;
    let file = this.open.get(key);
    if (file === undefined || file.rows !== c.rows) {
      if (file !== undefined) await file.batches.return(undefined);
      this.open.delete(key);
      const now = (this.o.now ?? Date.now)();
      if (!c.complete && now - (this.polled.get(key) ?? Number.NEGATIVE_INFINITY) < (this.o.exportPollMs ?? DEFAULT_EXPORT_POLL_MS))
        return { contacts: [], next: c };
      this.polled.set(key, now);
      const s = await this.exporter.status(portalId, c.taskId);
      if (s.status === 'CANCELED') return this.listPage(portalId, undefined);
      if (s.status !== 'COMPLETE' || s.url === null) return { contacts: [], next: c };
      this.polled.delete(key);
      file = {
        taskId: c.taskId,
        rows: c.rows,
        batches: this.exporter.contacts(s.url, c.rows, this.o.exportPageSize ?? DEFAULT_EXPORT_PAGE_SIZE),
      };
      this.open.set(key, file);
    }
    let r: IteratorResult<HubspotContact[]>;
    try {
      r = await file.batches.next();
    } catch (e) {
      // a broken download: the next call reopens the file from the rows stored
      this.open.delete(key);
      throw e;
    }
    if (r.done) {
      this.open.delete(key);
      return { contacts: [], next: null };
    }
    file.rows += r.value.length;
    return { contacts: r.value, next: { ...c, rows: file.rows, complete: true } };
  }
}
