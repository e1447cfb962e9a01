/** Bulk API 2.0 query jobs read page by page with Sforce-Locator, through jsforce's HttpApi, against the fake. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BulkQuery } from './bulk-query.js';
import { BulkQueryError } from './errors.js';
import { personFields, toPerson } from './records.js';
import { connectedGateway } from './testing/connect.js';
import { FakeSalesforce } from './testing/fake-salesforce.js';

let fake: FakeSalesforce;
let orgId: string;
beforeEach(async () => {
  fake = new FakeSalesforce();
  await fake.start();
  orgId = fake.org().id;
  fake.seedContacts(orgId, 7500);
  fake.bulk.pollsToComplete = 3;
});
afterEach(() => fake.stop());

const soql = `SELECT ${personFields('Contact', null).join(', ')} FROM Contact`;

describe('Bulk API 2.0 query', () => {
  it('reads 7,500 contacts in four pages of at most 2,000, with the job polled to completion', async () => {
    const bulk = new BulkQuery((await connectedGateway(fake, orgId)).gateway);
    const cursor = await bulk.start(orgId, soql);
    expect(cursor.jobId).toMatch(/^750/);
    const info = await bulk.waitForCompletion(orgId, cursor.jobId, { pollIntervalMs: 10 });
    expect(info.numberRecordsProcessed).toBe(7500);
    const sizes: number[] = [];
    const names = new Set<string>();
    for await (const page of bulk.pages(orgId, cursor, { maxRecords: 2000 })) {
      sizes.push(page.rows.length);
      for (const r of page.rows) names.add(String(toPerson(orgId, 'Contact', r).fields.LastName));
    }
    expect(sizes).toEqual([2000, 2000, 2000, 1500]);
    expect(names.size).toBe(7500);
    const results = fake.log.filter((l) => l.path.endsWith('/results'));
    expect(results).toHaveLength(4);
    // CSV strings become typed fields: booleans, nulls
    const first = await bulk.page(orgId, { jobId: cursor.jobId, locator: null, done: false }, { maxRecords: 10 });
    const p = toPerson(orgId, 'Contact', first.rows[9] as Record<string, string>);
    expect(p.fields).toMatchObject({ LastName: 'N10', HasOptedOutOfEmail: true, DoNotCall: false, Phone: null, IndividualId: null });
  });

  it('resumes from a stored cursor after a crash, without reading any row twice', async () => {
    const { gateway } = await connectedGateway(fake, orgId);
    const bulk = new BulkQuery(gateway);
    const start = await bulk.start(orgId, soql);
    await bulk.waitForCompletion(orgId, start.jobId, { pollIntervalMs: 10 });
    const one = await bulk.page(orgId, start, { maxRecords: 3000 });
    const stored = JSON.parse(JSON.stringify(one.cursor)) as typeof one.cursor; // what the app persisted
    // a new process, a new gateway and client, the same job
    const again = new BulkQuery((await connectedGateway(fake, orgId)).gateway);
    const seen = one.rows.map((r) => r.LastName);
    for await (const page of again.pages(orgId, stored, { maxRecords: 3000 })) seen.push(...page.rows.map((r) => r.LastName));
    expect(seen).toHaveLength(7500);
    expect(new Set(seen).size).toBe(7500);
    expect(seen.at(-1)).toBe('N7500');
  });

  it('reports a Failed job and a deleted one with a coded error', async () => {
    const bulk = new BulkQuery((await connectedGateway(fake, orgId)).gateway);
    fake.bulk.failNextJob = true;
    const failed = await bulk.start(orgId, soql);
    await expect(bulk.waitForCompletion(orgId, failed.jobId, { pollIntervalMs: 10 })).rejects.toMatchObject({
      code: 'SALESFORCE_BULK_QUERY_FAILED',
      state: 'Failed',
    });
    const ok = await bulk.start(orgId, soql);
    await bulk.waitForCompletion(orgId, ok.jobId, { pollIntervalMs: 10 });
    fake.bulk.jobs.delete(ok.jobId); // Salesforce deletes finished jobs after 7 days
    await expect(bulk.page(orgId, ok)).rejects.toBeInstanceOf(BulkQueryError);
    await expect(bulk.start(orgId, 'SELECT COUNT() FROM Contact')).rejects.toMatchObject({ errorCode: 'API_ERROR' });
  });
});
