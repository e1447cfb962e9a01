/**
 * HubSpot's CRM exports API for the initial sync of large portals: one asynchronous export of every
 * contact (POST /crm/v3/exports/export/async through the SDK's `crm.exports`), its status polled
 * (PENDING → PROCESSING → COMPLETE, with a signed download URL that lasts five minutes: asking
 * again gives a new one), then the file downloaded and read as a stream: unzipped when HubSpot
 * zipped it (files over 2 MB), parsed row by row, handed over in batches. Nothing holds the whole
 * file. The download is a signed file URL, not an API call: it needs no token and does not count
 * against the portal's request limit.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parse } from 'csv-parse';
import { Unzip, UnzipInflate } from 'fflate';
import type { HubspotContact } from './crm.js';
import type { HubspotGateway } from './gateway.js';

export type ExportStatus = 'PENDING' | 'PROCESSING' | 'COMPLETE' | 'CANCELED';

export class ExportDownloadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The id column: HubSpot writes `Record ID`; `hs_object_id` is asked for too, whichever the file has. */
const ID_COLUMNS = ['Record ID', 'hs_object_id'];

export class ContactExport {
  constructor(
    readonly gateway: HubspotGateway,
    private readonly fetchFile: typeof fetch = fetch,
  ) {}

  /**
   * Starts an export of every contact with `properties` (internal names and values); returns its
   * task id. Sent through the gateway's `apiRequest` (same limiter and tokens): the SDK's
   * `publicExportsApi.start` cannot serialise its own request (`PublicExportRequest` is a oneOf
   * without an attribute map: "typeMap[type].getAttributeTypeMap is not a function", as
   * hubspot-api-nodejs#649 reports for forms).
   */
  async start(portalId: number, properties: readonly string[], name: string): Promise<string> {
    const r = (await this.gateway.request(portalId, {
      method: 'POST',
      path: '/crm/v3/exports/export/async',
      body: {
        exportType: 'VIEW',
        format: 'CSV',
        exportName: name,
        objectType: 'CONTACT',
        objectProperties: ['hs_object_id', ...properties.filter((p) => p !== 'hs_object_id')],
        language: 'EN',
        exportInternalValuesOptions: ['NAMES', 'VALUES'],
        overrideAssociatedObjectsPerDefinitionPerRowLimit: false,
      },
    })) as { id: string };
    return String(r.id);
  }

  /** Where the export stands; `url` (valid for five minutes) once it is COMPLETE. */
  async status(portalId: number, taskId: string): Promise<{ status: ExportStatus; url: string | null }> {
    const r = await this.gateway.call(portalId, (cl) => cl.crm.exports.publicExportsApi.getStatus(Number(taskId)));
    return { status: r.status as ExportStatus, url: r.result ?? null };
  }

  /**
   * The file's contacts from row `skip` on (0: the first after the header), `batch` at a time. The
   * HTTP body is read only as fast as the batches are taken.
   */
  async *contacts(url: string, skip: number, batch: number): AsyncGenerator<HubspotContact[]> {
    const res = await this.fetchFile(url);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new ExportDownloadError(res.status, `export download refused: HTTP ${res.status}`);
    }
    const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
    const zipped = (res.headers.get('content-type') ?? '').includes('zip') || /\.zip(\?|$)/.test(new URL(url).pathname);
    const csv = zipped ? body.pipe(new FirstCsvOfZip()) : body;
    const rows = csv.pipe(parse({ columns: true, bom: true, relax_column_count: true }));
    body.on('error', (e) => rows.destroy(e));
    let seen = 0;
    let out: HubspotContact[] = [];
    try {
      for await (const row of rows as AsyncIterable<Record<string, string>>) {
        if (seen++ < skip) continue;
        out.push(toContact(row));
        if (out.length >= batch) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
    } finally {
      rows.destroy();
      body.destroy();
    }
  }
}

function toContact(row: Record<string, string>): HubspotContact {
  const id = ID_COLUMNS.map((c) => row[c]).find((v) => v !== undefined && v !== '') ?? '';
  const properties: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(row)) properties[k] = v === '' ? null : v;
  const modified = properties.lastmodifieddate;
  const at = modified == null ? Number.NaN : /^\d+$/.test(modified) ? Number(modified) : Date.parse(modified);
  return { id, properties, updatedAt: new Date(Number.isFinite(at) ? at : 0).toISOString() };
}

/** The first `.csv` entry of a zip, as a byte stream (fflate's streaming unzip; other entries are skipped). */
class FirstCsvOfZip extends Transform {
  private readonly unzip: Unzip;
  private taken = false;
  private ended = false;

  constructor() {
    super();
    this.unzip = new Unzip((file) => {
      if (this.taken || !file.name.toLowerCase().endsWith('.csv')) return;
      this.taken = true;
      file.ondata = (err, data, final) => {
        if (err) {
          this.destroy(err);
          return;
        }
        if (data.length > 0) this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        if (final) this.ended = true;
      };
      file.start();
    });
    this.unzip.register(UnzipInflate);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.unzip.push(chunk);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.unzip.push(new Uint8Array(0), true);
    } catch (e) {
      done(e as Error);
      return;
    }
    if (!this.taken) done(new Error('the export file holds no CSV'));
    else if (!this.ended) done(new Error('the export file ended inside its CSV'));
    else done();
  }
}
