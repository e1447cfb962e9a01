/**
 * Bulk API 2.0 query jobs for the initial sync of large orgs. jsforce 3.10.16's `bulk2.query()`
 * crashes the process when the results span two pages (every page is piped into one CSV stream
 * that the first page's end closes: ERR_STREAM_WRITE_AFTER_END, jsforce#1546), and its 30 s poll
 * timeout deletes long jobs. So we create and poll the job with `conn.request` and read the result
 * pages ourselves through jsforce's HttpApi (its refresh-on-401 and retries, plus the response
 * headers): `maxRecords` per page, `Sforce-Locator` to the next one until it is the string `null`.
 * The cursor `{jobId, locator}` is what the app stores after each page to resume after a crash.
 */
import { parse } from 'csv-parse/sync';
import type { Connection } from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api.js';
import { BulkQueryError, SalesforceApiError } from './errors.js';
import type { SalesforceGateway } from './gateway.js';

export interface BulkCursor {
  jobId: string;
  /** The next page's locator; null before the first page. */
  locator: string | null;
  /** No page left. */
  done: boolean;
}

export interface BulkJobInfo {
  id: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  numberRecordsProcessed?: number;
}

export class BulkQuery {
  constructor(readonly gateway: SalesforceGateway) {}

  /** POST /jobs/query: the job starts at once; returns the cursor of its first page. */
  async start(orgId: string, soql: string, opts: { all?: boolean } = {}): Promise<BulkCursor> {
    const job = await this.gateway.call(
      orgId,
      async (c) =>
        (await c.request({
          method: 'POST',
          url: '/jobs/query',
          body: JSON.stringify({
            operation: opts.all ? 'queryAll' : 'query',
            query: soql,
            contentType: 'CSV',
            columnDelimiter: 'COMMA',
            lineEnding: 'LF',
          }),
          headers: { 'content-type': 'application/json; charset=utf-8' },
        })) as BulkJobInfo,
    );
    return { jobId: job.id, locator: null, done: false };
  }

  async info(orgId: string, jobId: string): Promise<BulkJobInfo> {
    return this.gateway.call(
      orgId,
      async (c) => (await c.request({ method: 'GET', url: `/jobs/query/${encodeURIComponent(jobId)}` })) as BulkJobInfo,
    );
  }

  /**
   * Polls until the job is complete (a million rows take minutes, so the default timeout is 30 min,
   * not jsforce's 30 s); a Failed or Aborted job (Salesforce gives no reason) throws BulkQueryError.
   * Timing out leaves the job alone: its results stay readable from the stored cursor.
   */
  async waitForCompletion(orgId: string, jobId: string, opts: { pollIntervalMs?: number; timeoutMs?: number } = {}): Promise<BulkJobInfo> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const info = await this.info(orgId, jobId);
      if (info.state === 'JobComplete') return info;
      if (info.state === 'Failed' || info.state === 'Aborted') throw new BulkQueryError(jobId, info.state);
      if (Date.now() >= deadline) throw new BulkQueryError(jobId, `still ${info.state} after the poll timeout`);
      await new Promise((r) => setTimeout(r, opts.pollIntervalMs ?? 2000));
    }
  }

  /** One page of results (rows as Salesforce sends them: strings, null as '') and the cursor after it. */
  async page(
    orgId: string,
    cursor: BulkCursor,
    opts: { maxRecords?: number } = {},
  ): Promise<{ rows: Array<Record<string, string>>; cursor: BulkCursor }> {
    if (cursor.done) return { rows: [], cursor };
    const max = opts.maxRecords ?? 50_000;
    const { csv, locator } = await this.gateway
      .call(orgId, (c) => this.fetchPage(c, cursor, max))
      .catch((e: unknown) => {
        if (e instanceof SalesforceApiError && e.errorCode === 'NOT_FOUND') throw new BulkQueryError(cursor.jobId, 'Deleted');
        throw e;
      });
    const rows =
      csv.trim() === '' ? [] : (parse(csv, { columns: true, skip_empty_lines: true, delimiter: ',' }) as Array<Record<string, string>>);
    const next =
      locator === undefined || locator === 'null' || locator === ''
        ? { ...cursor, locator: null, done: true }
        : { ...cursor, locator, done: false };
    return { rows, cursor: next };
  }

  private async fetchPage(conn: Connection, cursor: BulkCursor, max: number): Promise<{ csv: string; locator: string | undefined }> {
    let locator: string | undefined;
    const api = new HttpApi(conn, { responseType: 'text/plain' });
    api.on('response', (r: { headers: Record<string, string> }) => {
      locator = r.headers['sforce-locator'];
      const usage = /api-usage=(\d+)\/(\d+)/.exec(r.headers['sforce-limit-info'] ?? '');
      if (usage) conn.limitInfo = { apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) } };
    });
    const url = `${conn.instanceUrl}/services/data/v${conn.version}/jobs/query/${encodeURIComponent(cursor.jobId)}/results?maxRecords=${max}${cursor.locator ? `&locator=${encodeURIComponent(cursor.locator)}` : ''}`;
    const csv = (await api.request({ method: 'GET', url, headers: { Accept: 'text/csv' } })) as unknown as string;
    return { csv, locator };
  }

  /** Every page from the cursor on; the caller stores each yielded cursor once it has handled the rows. */
  async *pages(
    orgId: string,
    cursor: BulkCursor,
    opts: { maxRecords?: number } = {},
  ): AsyncGenerator<{ rows: Array<Record<string, string>>; cursor: BulkCursor }> {
    let c = cursor;
    while (!c.done) {
      const p = await this.page(orgId, c, opts);
      c = p.cursor;
      yield p;
    }
  }

  /** Stops a job (PATCH state Aborted); its results are gone. */
  async abort(orgId: string, jobId: string): Promise<void> {
    await this.gateway.call(orgId, async (c) =>
      c.request({
        method: 'PATCH',
        url: `/jobs/query/${encodeURIComponent(jobId)}`,
        body: JSON.stringify({ state: 'Aborted' }),
        headers: { 'content-type': 'application/json' },
      }),
    );
  }
}
