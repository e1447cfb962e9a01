/** The fake itself, through real jsforce and raw HTTP: the wire details Salesforce documents. */
import { execFile } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectedGateway } from './connect.js';
import { FakeSalesforce } from './fake-salesforce.js';

let fake: FakeSalesforce;
let orgId: string;
let token: string;
beforeEach(async () => {
  fake = new FakeSalesforce();
  await fake.start();
  orgId = fake.org().id;
  token = fake.issueTokens(orgId).access_token as string;
});
afterEach(() => fake.stop());

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${fake.url}/services/data/v60.0${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });

describe('the fake Salesforce', () => {
  it('answers REST calls with Sforce-Limit-Info, errors as [{message, errorCode}], 401 INVALID_SESSION_ID', async () => {
    const ok = await api('/limits');
    expect(ok.headers.get('sforce-limit-info')).toBe('api-usage=1/15000');
    expect(await ok.json()).toMatchObject({ DailyApiRequests: { Max: 15000, Remaining: 14999 }, DailyBulkV2QueryJobs: { Max: 10000 } });
    const bad = await api(`/query?q=${encodeURIComponent('SELECT Nope FROM Contact')}`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('sforce-limit-info')).toBe('api-usage=2/15000');
    expect(await bad.json()).toEqual([{ message: expect.stringContaining("No such column 'Nope'"), errorCode: 'INVALID_FIELD' }]);
    const anon = await fetch(`${fake.url}/services/data/v60.0/limits`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
  });

  it('creates, reads, updates, upserts one record by external id (201, then 200 created:false) and rolls back allOrNone', async () => {
    const { gateway } = await connectedGateway(fake, orgId);
    const c = await gateway.call(orgId, async (conn) => conn.sobject('Contact').create({ LastName: 'Wanjiru' }));
    expect(c).toMatchObject({ success: true, errors: [] });
    const id = (c as { id: string }).id;
    const task = { Subject: 'SMS', Status: 'Completed', WhoId: id };
    const first = await api(`/sobjects/Task/Signalbox_Message_Id__c/m-1`, { method: 'PATCH', body: JSON.stringify(task) });
    expect(first.status).toBe(201);
    const again = await api(`/sobjects/Task/Signalbox_Message_Id__c/m-1`, {
      method: 'PATCH',
      body: JSON.stringify({ ...task, Subject: 'SMS read' }),
    });
    expect([again.status, await again.json()]).toEqual([200, { id: expect.any(String), success: true, errors: [], created: false }]);
    const rows = await api('/composite/sobjects', {
      method: 'POST',
      body: JSON.stringify({
        allOrNone: true,
        records: [
          { attributes: { type: 'Task' }, ...task },
          { attributes: { type: 'Task' }, Subject: 'no status' },
        ],
      }),
    });
    expect(await rows.json()).toEqual([
      { id: null, success: false, errors: [expect.objectContaining({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' })] },
      {
        id: null,
        success: false,
        errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Status]', fields: ['Status'] }],
      },
    ]);
    expect(fake.org(orgId).table('Task').rows.size).toBe(1);
    const subtype = await api(`/sobjects/Task/Signalbox_Message_Id__c/m-1`, {
      method: 'PATCH',
      body: JSON.stringify({ TaskSubtype: 'Call' }),
    });
    expect(await subtype.json()).toEqual([expect.objectContaining({ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE' })]);
  });

  it('pages Bulk API 2.0 results as CSV with a header per page, Sforce-NumberOfRecords and the string null as the last locator', async () => {
    fake.seedContacts(orgId, 5);
    const job = (await (
      await api('/jobs/query', {
        method: 'POST',
        body: JSON.stringify({ operation: 'query', query: 'SELECT Id, LastName, Phone FROM Contact' }),
      })
    ).json()) as { id: string; state: string };
    expect(job.state).toBe('UploadComplete');
    expect(((await (await api(`/jobs/query/${job.id}`)).json()) as { state: string }).state).toBe('JobComplete');
    const p1 = await api(`/jobs/query/${job.id}/results?maxRecords=3`);
    expect(p1.headers.get('content-type')).toBe('text/csv');
    expect(p1.headers.get('sforce-numberofrecords')).toBe('3');
    const csv = await p1.text();
    expect(csv.split('\n')[0]).toBe('"Id","LastName","Phone"');
    expect(csv.split('\n')[1]).toMatch(/^"003\w{15}","N1",""$/);
    const p2 = await api(`/jobs/query/${job.id}/results?maxRecords=3&locator=${p1.headers.get('sforce-locator')}`);
    expect(p2.headers.get('sforce-locator')).toBe('null');
    expect((await p2.text()).split('\n')[0]).toBe('"Id","LastName","Phone"');
    const wrongVersion = await fetch(`${fake.url}/services/data/v59.0/jobs/query/${job.id}/results`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(wrongVersion.status).toBe(409);
  });

  it('reproduces jsforce 3.10.16’s bulk2.query crash on multi-page results, the reason BulkQuery pages itself', async () => {
    fake.seedContacts(orgId, 5000);
    fake.bulk.defaultPageSize = 100; // jsforce sends no maxRecords: 50 pages (with 3 pages of 10,000 it rather yields the later pages' header rows as records)
    const script = `
      const { Connection } = require('jsforce');
      const conn = new Connection({ instanceUrl: ${JSON.stringify(fake.url)}, accessToken: ${JSON.stringify(token)}, version: '60.0' });
      conn.bulk2.pollInterval = 10;
      conn.bulk2.query('SELECT Id FROM Contact').then((s) => { let n = 0; s.on('record', () => n++); s.on('end', () => console.log('rows', n)); });`;
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-e', script],
        { cwd: new URL('../../../', import.meta.url).pathname, timeout: 20_000 },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('ERR_STREAM_WRITE_AFTER_END');
  });

  it('refuses the WebSocket upgrade faye tries first (long-polling only)', async () => {
    const res = await fetch(`${fake.url}/cometd/60.0`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    }).catch((e: Error) => e);
    expect(res instanceof Error || res.status !== 101).toBe(true);
  });
});
