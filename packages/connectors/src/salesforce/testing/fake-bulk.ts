/**
 * Bulk API 2.0 query jobs in the fake: create, poll (UploadComplete → InProgress → JobComplete, or
 * Failed/Aborted), CSV results paged with `maxRecords` and `Sforce-Locator` (the string `null` on
 * the last page), `Sforce-NumberOfRecords`, abort, delete, list. Each page is a complete CSV with
 * its own header row. Rows are generated as pages are read, so a million-row job holds one page.
 */
import { randomBytes } from 'node:crypto';
import { type FakeOrg, type Row, SfError } from './fake-org.js';
import { parseSoql, type SoqlQuery } from './fake-soql.js';

const DELIMITERS: Record<string, string> = { COMMA: ',', TAB: '\t', PIPE: '|', SEMICOLON: ';', CARET: '^', BACKQUOTE: '`' };

export interface QueryJob {
  id: string;
  orgId: string;
  operation: 'query' | 'queryAll';
  query: SoqlQuery;
  soql: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  apiVersion: string;
  columnDelimiter: string;
  lineEnding: 'LF' | 'CRLF';
  createdDate: string;
  polls: number;
  records: number | null;
  cursor: { offset: number; rows: Generator<{ row: Row }> } | null;
}

export class FakeBulk {
  readonly jobs = new Map<string, QueryJob>();
  /** Polls a job answers before it completes. */
  pollsToComplete = 1;
  /** Rows per results page when the client sends no `maxRecords`. */
  defaultPageSize = 10_000;
  /** The next job created ends Failed (Salesforce gives no reason). */
  failNextJob = false;
  /** Results requests that had to re-read the job from its start (a locator not at the cursor). */
  slowSeeks = 0;
  private seq = 1;

  constructor(private readonly now: () => number) {}

  create(org: FakeOrg, version: string, body: Record<string, unknown>, createdById: string): Record<string, unknown> {
    const operation = body.operation;
    if (operation !== 'query' && operation !== 'queryAll')
      throw new SfError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(operation)}`);
    if (typeof body.query !== 'string') throw new SfError(400, 'INVALIDJOB', 'InvalidJob : query is required');
    const delimiter = String(body.columnDelimiter ?? 'COMMA');
    if (!(delimiter in DELIMITERS)) throw new SfError(400, 'INVALIDJOB', `InvalidJob : Invalid columnDelimiter: ${delimiter}`);
    const lineEnding = String(body.lineEnding ?? 'LF');
    if (lineEnding !== 'LF' && lineEnding !== 'CRLF')
      throw new SfError(400, 'INVALIDJOB', `InvalidJob : Invalid lineEnding: ${lineEnding}`);
    let query: SoqlQuery;
    try {
      query = parseSoql(body.query);
    } catch (e) {
      throw new SfError(400, 'MALFORMED_QUERY', (e as Error).message);
    }
    if (query.bulkUnsupported !== null)
      throw new SfError(400, 'API_ERROR', `${query.bulkUnsupported} is not supported by the Bulk API 2.0 query`);
    org.checkQuery(query, []);
    const id = `750${String(this.seq++).padStart(12, '0')}AAA`;
    const job: QueryJob = {
      id,
      orgId: org.id,
      operation,
      query,
      soql: body.query,
      state: this.failNextJob ? 'Failed' : 'UploadComplete',
      apiVersion: version,
      columnDelimiter: delimiter,
      lineEnding,
      createdDate: new Date(this.now()).toISOString().replace('Z', '+0000'),
      polls: 0,
      records: null,
      cursor: null,
    };
    if (this.failNextJob) job.polls = this.pollsToComplete;
    this.failNextJob = false;
    this.jobs.set(id, job);
    return { ...this.info(job), createdById };
  }

  private info(job: QueryJob): Record<string, unknown> {
    return {
      id: job.id,
      operation: job.operation,
      object: job.query.from,
      createdDate: job.createdDate,
      systemModstamp: job.createdDate,
      state: job.state,
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      apiVersion: Number(job.apiVersion),
      lineEnding: job.lineEnding,
      columnDelimiter: job.columnDelimiter,
    };
  }

  job(org: FakeOrg, id: string): QueryJob {
    const job = this.jobs.get(id);
    if (job === undefined || job.orgId !== org.id) throw new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  }

  /** GET /jobs/query/<id>: every poll moves a job closer to completion. */
  poll(org: FakeOrg, id: string): Record<string, unknown> {
    const job = this.job(org, id);
    if (job.state === 'UploadComplete' || job.state === 'InProgress') {
      job.polls++;
      job.state = job.polls >= this.pollsToComplete ? 'JobComplete' : 'InProgress';
      if (job.state === 'JobComplete') {
        let n = 0;
        for (const _ of org.select(job.query, { all: job.operation === 'queryAll' })) n++;
        job.records = n;
      }
    }
    return {
      ...this.info(job),
      jobType: 'V2Query',
      numberRecordsProcessed: job.records ?? 0,
      retries: 0,
      totalProcessingTime: job.state === 'JobComplete' ? 1200 : 0,
    };
  }

  abort(org: FakeOrg, id: string, body: Record<string, unknown>): Record<string, unknown> {
    const job = this.job(org, id);
    if (body.state !== 'Aborted') throw new SfError(400, 'INVALIDJOBSTATE', 'Only Aborted is allowed for a query job');
    if (job.state === 'JobComplete' || job.state === 'Failed') throw new SfError(400, 'INVALIDJOBSTATE', `Job is already ${job.state}`);
    job.state = 'Aborted';
    return this.info(job);
  }

  delete(org: FakeOrg, id: string): void {
    this.job(org, id);
    this.jobs.delete(id);
  }

  list(org: FakeOrg): Record<string, unknown> {
    const records = [...this.jobs.values()].filter((j) => j.orgId === org.id).map((j) => this.info(j));
    return { done: true, records, nextRecordsUrl: null };
  }

  /** GET /jobs/query/<id>/results: one CSV page and the locator of the next. */
  results(org: FakeOrg, id: string, version: string, q: URLSearchParams): { csv: string; locator: string; count: number } {
    const job = this.job(org, id);
    if (version !== job.apiVersion)
      throw new SfError(
        409,
        'INVALIDJOBSTATE',
        `Query job results must be read with the API version that created the job (${job.apiVersion})`,
      );
    if (job.state !== 'JobComplete') throw new SfError(400, 'INVALIDJOBSTATE', `Results are not available for a job in state ${job.state}`);
    const max = q.get('maxRecords') === null ? this.defaultPageSize : Number(q.get('maxRecords'));
    if (!Number.isInteger(max) || max < 1) throw new SfError(400, 'INVALIDJOBSTATE', 'maxRecords must be a positive integer');
    const loc = q.get('locator');
    const offset = loc === null || loc === '' ? 0 : Number(Buffer.from(loc, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new SfError(400, 'INVALIDLOCATOR', `Invalid locator: ${loc}`);
    if (job.cursor === null || job.cursor.offset !== offset) {
      // a locator away from where the last page ended: read from the start (slow, counted)
      if (offset > 0) this.slowSeeks++;
      const rows = org.select(job.query, { all: job.operation === 'queryAll' });
      for (let i = 0; i < offset; i++) if (rows.next().done) break;
      job.cursor = { offset, rows };
    }
    const d = DELIMITERS[job.columnDelimiter] as string;
    const eol = job.lineEnding === 'CRLF' ? '\r\n' : '\n';
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const t = org.queryTable(job.query.from);
    const lines = [job.query.fields.map(quote).join(d)];
    let count = 0;
    while (count < max) {
      const next = job.cursor.rows.next();
      if (next.done) break;
      lines.push(job.query.fields.map((f) => quote(org.toCsvCell(t, next.value.row, f))).join(d));
      count++;
    }
    job.cursor.offset += count;
    const more = job.cursor.offset < (job.records ?? 0);
    const locator = more ? Buffer.from(String(job.cursor.offset)).toString('base64url') : 'null';
    return { csv: lines.join(eol) + eol, locator, count };
  }
}

/** A locator-like random id, for query locators (`01g…-2000`). */
export function locatorId(): string {
  return `01g${randomBytes(6).toString('hex').toUpperCase()}`;
}
