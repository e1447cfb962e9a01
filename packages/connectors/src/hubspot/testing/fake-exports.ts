/**
 * The CRM exports API as HubSpot runs it (`/crm/v3/exports/export/async`): an export is a task
 * that waits its turn (one export at a time per account, the others PENDING), is written
 * (PROCESSING: the file is built a slice of rows at a time while the server keeps answering) and
 * then COMPLETE, its status answering with a signed download URL that expires five minutes after
 * that status call (calling again gives a fresh one). The file is a CSV with a header row — `Record
 * ID`, then each requested property under its internal name (`exportInternalValuesOptions`
 * NAMES) or its label — zipped when it is over 2 MB, as HubSpot zips large exports. The download
 * is a file URL, not an API call: no token, not counted against the account's limit.
 * Refused as HubSpot refuses: a body that is not a view or list export of a known object with
 * known properties (400 VALIDATION_ERROR), a task of another account or none (404).
 */
import { createHmac } from 'node:crypto';
import { Zip, ZipDeflate } from 'fflate';
import { objectType } from './fake-catalogue.js';
import { HsError } from './fake-errors.js';
import type { FakePortal } from './fake-portal.js';
import { propertyExists } from './fake-properties.js';

/** HubSpot zips an export file larger than this. */
export const ZIP_OVER_BYTES = 2 * 1024 * 1024;
/** How long a download URL from a status call stays good. */
export const DOWNLOAD_TTL_MS = 5 * 60_000;

type ExportState = 'PENDING' | 'PROCESSING' | 'COMPLETE' | 'CANCELED';

interface FakeExportTask {
  id: string;
  portalId: number;
  name: string;
  properties: string[];
  internalNames: boolean;
  state: ExportState;
  requestedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  file: { bytes: Buffer; zipped: boolean; rows: number } | null;
}

export interface FakeExportsOptions {
  now: () => number;
  /** Rows written per slice while PROCESSING (the server answers between slices). */
  rowsPerSlice?: number;
  /** A wait before an export's turn starts (HubSpot queues exports; tests see PENDING). */
  queueDelayMs?: number;
}

const VIEW_FIELDS = ['exportType', 'format', 'exportName', 'objectType', 'objectProperties', 'language'];

export class FakeExports {
  readonly tasks = new Map<string, FakeExportTask>();
  private nextTask = 7_000_001;
  private readonly secret = `fake-exports-${Math.random()}`;
  /** Per account, the task being written (the others wait). */
  private readonly running = new Map<number, string>();
  /**
   * Tests hold exports where they are: `'queue'` keeps new ones PENDING, `'writing'` stops them
   * PROCESSING after their first slice; `release()` lets them go on.
   */
  hold: 'queue' | 'writing' | null = null;
  private waiting: Array<() => void> = [];

  constructor(
    private readonly o: FakeExportsOptions,
    private readonly portalOf: (id: number) => FakePortal,
  ) {}

  /** POST /crm/v3/exports/export/async */
  start(p: FakePortal, body: Record<string, unknown>): { status: number; body: unknown } {
    const missing = VIEW_FIELDS.filter((f) => body[f] === undefined);
    const bad = (message: string, field?: string) =>
      new HsError(400, 'VALIDATION_ERROR', message, field ? { errors: [{ message, in: field, code: 'INVALID' }] } : {});
    if (missing.length > 0) throw bad(`Missing required fields: ${missing.join(', ')}`, missing[0]);
    if (body.exportType !== 'VIEW' && body.exportType !== 'LIST') throw bad(`exportType must be VIEW or LIST`, 'exportType');
    if (body.exportType === 'LIST' && typeof body.listId !== 'string') throw bad('A LIST export needs listId', 'listId');
    if (body.format !== 'CSV')
      throw bad(`format ${String(body.format)} is not written by this fake (HubSpot also writes XLS and XLSX)`, 'format');
    const type = objectType(String(body.objectType).toLowerCase());
    if (type === undefined) throw bad(`Unknown object type ${String(body.objectType)}`, 'objectType');
    const props = body.objectProperties;
    if (!Array.isArray(props) || props.length === 0 || props.some((x) => typeof x !== 'string'))
      throw bad('objectProperties must name at least one property', 'objectProperties');
    const unknown = (props as string[]).filter((name) => !propertyExists(p, type, name));
    if (unknown.length > 0) throw bad(`Unknown properties: ${unknown.join(', ')}`, 'objectProperties');
    const options = Array.isArray(body.exportInternalValuesOptions) ? body.exportInternalValuesOptions : [];
    const id = String(this.nextTask++);
    this.tasks.set(id, {
      id,
      portalId: p.id,
      name: String(body.exportName),
      properties: [...new Set(props as string[])],
      internalNames: options.includes('NAMES'),
      state: 'PENDING',
      requestedAt: new Date(this.o.now()).toISOString(),
      startedAt: null,
      completedAt: null,
      file: null,
    });
    this.schedule(p.id);
    return { status: 202, body: { id, links: { status: `/crm/v3/exports/export/async/tasks/${id}/status` } } };
  }

  /** GET /crm/v3/exports/export/async/tasks/{taskId}/status (`base`: this server's URL, for the download link). */
  status(p: FakePortal, taskId: string, base: string): { status: number; body: unknown } {
    const t = this.tasks.get(taskId);
    if (t === undefined || t.portalId !== p.id) throw new HsError(404, 'OBJECT_NOT_FOUND', `Export task ${taskId} not found`);
    const started = t.startedAt ?? t.requestedAt;
    const body: Record<string, unknown> = {
      status: t.state,
      requestedAt: t.requestedAt,
      startedAt: started,
      // the spec makes completedAt required: until then HubSpot sends when it started
      completedAt: t.completedAt ?? started,
      links: {},
    };
    if (t.state === 'COMPLETE' && t.file !== null) {
      const expires = this.o.now() + DOWNLOAD_TTL_MS;
      const file = `${encodeURIComponent(t.name.replace(/[^\w.-]+/g, '-'))}.${t.file.zipped ? 'zip' : 'csv'}`;
      body.result = `${base}/_files/exports/${t.id}/${file}?expires=${expires}&signature=${this.sign(t.id, expires)}`;
    }
    return { status: 200, body };
  }

  /** GET /_files/exports/{taskId}/{file}: the file, if the URL is signed and not expired. */
  download(url: URL): { status: number; type: string; body: Buffer | string } {
    const m = /^\/_files\/exports\/(\d+)\/[^/]+$/.exec(url.pathname);
    const t = m ? this.tasks.get(m[1] as string) : undefined;
    const expires = Number(url.searchParams.get('expires'));
    if (t === undefined || t.file === null || url.searchParams.get('signature') !== this.sign(t.id, expires))
      return { status: 403, type: 'text/plain', body: 'Access denied' };
    if (this.o.now() > expires) return { status: 403, type: 'text/plain', body: 'Request has expired' };
    return { status: 200, type: t.file.zipped ? 'application/zip' : 'text/csv; charset=utf-8', body: t.file.bytes };
  }

  /** Lets held exports go on (to the next hold, if `hold` is set again). */
  release(): void {
    this.hold = null;
    for (const go of this.waiting.splice(0)) go();
  }

  private held(at: 'queue' | 'writing'): Promise<void> {
    return this.hold === at ? new Promise((r) => this.waiting.push(r)) : Promise.resolve();
  }

  /** Cancels a task (as a Super Admin can in HubSpot's export log). */
  cancel(taskId: string): void {
    const t = this.tasks.get(taskId);
    if (t !== undefined && t.state !== 'COMPLETE') t.state = 'CANCELED';
  }

  private sign(id: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${id}:${expires}`).digest('hex').slice(0, 32);
  }

  /** Starts the account's next waiting export when none is being written. */
  private schedule(portalId: number): void {
    if (this.running.has(portalId)) return;
    const next = [...this.tasks.values()].find((t) => t.portalId === portalId && t.state === 'PENDING');
    if (next === undefined) return;
    this.running.set(portalId, next.id);
    setTimeout(() => void this.write(next), this.o.queueDelayMs ?? 0);
  }

  private async write(t: FakeExportTask): Promise<void> {
    try {
      await this.held('queue');
      if (t.state === 'CANCELED') return;
      t.state = 'PROCESSING';
      t.startedAt = new Date(this.o.now()).toISOString();
      const p = this.portalOf(t.portalId);
      const header = ['Record ID', ...t.properties.map((name) => (t.internalNames ? name : labelOf(p, name)))];
      const chunks: Buffer[] = [Buffer.from(`${header.map(csvCell).join(',')}\n`)];
      let size = chunks[0]?.length ?? 0;
      const slice = this.o.rowsPerSlice ?? 20_000;
      const records = [...(p.objects.contacts?.values() ?? [])].filter((o) => !o.archived);
      for (let i = 0; i < records.length; i += slice) {
        const lines: string[] = [];
        for (const o of records.slice(i, i + slice))
          lines.push(
            [o.id, ...t.properties.map((name) => (name === 'hs_object_id' ? o.id : (o.properties[name] ?? '')))].map(csvCell).join(','),
          );
        const b = Buffer.from(`${lines.join('\n')}\n`);
        chunks.push(b);
        size += b.length;
        await new Promise((r) => setImmediate(r));
        if (i === 0) await this.held('writing');
        if ((t.state as ExportState) === 'CANCELED') return;
      }
      const csv = Buffer.concat(chunks, size);
      t.file =
        size > ZIP_OVER_BYTES
          ? { bytes: await zipOne(`${t.name}.csv`, csv), zipped: true, rows: records.length }
          : { bytes: csv, zipped: false, rows: records.length };
      t.state = 'COMPLETE';
      t.completedAt = new Date(this.o.now()).toISOString();
    } finally {
      this.running.delete(t.portalId);
      this.schedule(t.portalId);
    }
  }
}

function labelOf(p: FakePortal, name: string): string {
  const custom = p.schema.contacts.properties.get(name);
  return typeof custom?.label === 'string' ? custom.label : name;
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One file in a zip, deflated a slice at a time (the server answers between slices). */
async function zipOne(name: string, data: Buffer): Promise<Buffer> {
  const out: Uint8Array[] = [];
  let failed: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failed = err;
    else out.push(chunk);
  });
  const entry = new ZipDeflate(name, { level: 1 });
  zip.add(entry);
  const SLICE = 1 << 20;
  for (let i = 0; i < data.length; i += SLICE) {
    entry.push(data.subarray(i, i + SLICE), i + SLICE >= data.length);
    await new Promise((r) => setImmediate(r));
  }
  if (data.length === 0) entry.push(new Uint8Array(0), true);
  zip.end();
  if (failed) throw failed;
  return Buffer.concat(out);
}
