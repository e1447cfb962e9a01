/**
 * The CRM exports API in the fake held to HubSpot's answers (operations.ts, shapes.ts), through our
 * gateway (ContactExport: the start by `apiRequest`, the status by the SDK's `crm.exports`), and the
 * initial sync on top of it: an export above the threshold, read as a stream and resumed from its
 * cursor; paging below it, without `crm.export`, or when the export was cancelled.
 */
import { describe, expect, it } from 'vitest';
import { ContactExport, ExportDownloadError } from '../../contact-export.js';
import { CONTACT_PROPERTIES } from '../../crm.js';
import { HubspotInitialSync, type InitialCursor } from '../../initial-sync.js';
import { DOWNLOAD_TTL_MS } from '../fake-exports.js';
import { advance, body, conforms, fake, installed, PORTAL, proxy, useHarness } from './harness.js';

useHarness();

const STATUS = /^\/crm\/v3\/exports\/export\/async\/tasks\/\d+\/status$/;

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('never');
}

async function all(exporter: ContactExport, url: string, skip = 0, batch = 1000) {
  const out: Array<{ id: string; properties: Record<string, string | null | undefined> }> = [];
  for await (const b of exporter.contacts(url, skip, batch)) out.push(...b);
  return out;
}

describe('exports', () => {
  it('start an export (ContactExport.start): 202 with the task id; PENDING, PROCESSING, then COMPLETE with a file URL', async () => {
    const { gateway } = await installed();
    const exporter = new ContactExport(gateway);
    fake.exports.hold = 'queue';
    const taskId = await exporter.start(PORTAL, CONTACT_PROPERTIES, 'initial sync');
    const started = proxy.last('POST', '/crm/v3/exports/export/async');
    expect(started.status).toBe(202);
    conforms(started, 'exports-v3');
    expect(body(started).id).toBe(taskId);

    expect(await exporter.status(PORTAL, taskId)).toEqual({ status: 'PENDING', url: null });
    conforms(proxy.last('GET', STATUS), 'exports-v3');
    fake.exports.release();
    fake.exports.hold = 'writing';
    const processing = await until(
      () => exporter.status(PORTAL, taskId),
      (s) => s.status === 'PROCESSING',
    );
    expect(processing.url).toBeNull();
    conforms(proxy.last('GET', STATUS), 'exports-v3');
    fake.exports.release();
    const done = await until(
      () => exporter.status(PORTAL, taskId),
      (s) => s.status === 'COMPLETE',
    );
    conforms(proxy.last('GET', STATUS), 'exports-v3');
    expect(done.url).toMatch(/\.csv\?expires=\d+&signature=/);
  });

  it('the file: a CSV with Record ID and each requested property under its internal name, one row per contact', async () => {
    const { gateway } = await installed();
    const exporter = new ContactExport(gateway);
    const taskId = await exporter.start(PORTAL, ['email', 'phone', 'mobilephone'], 'x');
    const { url } = await until(
      () => exporter.status(PORTAL, taskId),
      (s) => s.status === 'COMPLETE',
    );
    const res = await fetch(url as string);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('Record ID,hs_object_id,email,phone,mobilephone');
    expect(lines.slice(1).sort()).toEqual(['901,901,amina@example.com,+254711000901,', '902,902,otieno@example.com,,+254711000902']);
    const contacts = await all(exporter, url as string);
    expect(contacts.map((c) => [c.id, c.properties.email, c.properties.phone ?? null])).toEqual([
      ['901', 'amina@example.com', '+254711000901'],
      ['902', 'otieno@example.com', null],
    ]);
  });

  it('a file over 2 MB comes zipped, and is read as a stream in batches', async () => {
    // ids 1…30,000 (901 and 902 among them)
    fake.seedContacts(PORTAL, 30_000);
    const { gateway } = await installed();
    const exporter = new ContactExport(gateway);
    const taskId = await exporter.start(PORTAL, CONTACT_PROPERTIES, 'big');
    const { url } = await until(
      () => exporter.status(PORTAL, taskId),
      (s) => s.status === 'COMPLETE',
    );
    expect(url).toMatch(/\.zip\?/);
    const sizes: number[] = [];
    const ids = new Set<string>();
    for await (const b of exporter.contacts(url as string, 0, 7_000)) {
      sizes.push(b.length);
      for (const c of b) ids.add(c.id);
    }
    expect(sizes).toEqual([7_000, 7_000, 7_000, 7_000, 2_000]);
    expect(ids.size).toBe(30_000);
    // from row 29,990 on: the last 10
    expect((await all(exporter, url as string, 29_990)).length).toBe(10);
  });

  it('a property the account does not have: 400 VALIDATION_ERROR', async () => {
    const { gateway } = await installed();
    await expect(new ContactExport(gateway).start(PORTAL, ['favourite_colour'], 'x')).rejects.toMatchObject({
      status: 400,
      category: 'VALIDATION_ERROR',
    });
    conforms(proxy.last('POST', '/crm/v3/exports/export/async'), 'exports-v3');
  });

  it('an install without crm.export: 403 MISSING_SCOPES naming it', async () => {
    const { gateway } = await installed({ decline: ['crm.export'] });
    await expect(new ContactExport(gateway).start(PORTAL, CONTACT_PROPERTIES, 'x')).rejects.toMatchObject({ status: 403 });
    const ex = proxy.last('POST', '/crm/v3/exports/export/async');
    conforms(ex, 'exports-v3');
    expect(body(ex).errors?.[0]).toMatchObject({ context: { requiredGranularScopes: ['crm.export'] } });
  });

  it('the status of a task HubSpot never issued: 404', async () => {
    const { gateway } = await installed();
    await expect(new ContactExport(gateway).status(PORTAL, '123')).rejects.toMatchObject({ status: 404 });
    conforms(proxy.last('GET', STATUS), 'exports-v3');
  });

  it('a download URL expires five minutes after its status call; the next status call gives a fresh one', async () => {
    const { gateway } = await installed();
    const exporter = new ContactExport(gateway);
    const taskId = await exporter.start(PORTAL, ['email'], 'x');
    const { url } = await until(
      () => exporter.status(PORTAL, taskId),
      (s) => s.status === 'COMPLETE',
    );
    advance(DOWNLOAD_TTL_MS + 1);
    await expect(all(exporter, url as string)).rejects.toEqual(new ExportDownloadError(403, 'export download refused: HTTP 403'));
    const again = await exporter.status(PORTAL, taskId);
    expect(again.url).not.toBe(url);
    expect((await all(exporter, again.url as string)).length).toBe(2);
    // a URL whose signature was tampered with is refused too
    expect((await fetch(String(again.url).replace(/signature=\w/, 'signature=x'))).status).toBe(403);
  });
});

describe('the initial sync (HubspotInitialSync)', () => {
  const run = async (sync: HubspotInitialSync, from: InitialCursor | null, maxPages = Number.POSITIVE_INFINITY) => {
    let cursor = from;
    const ids: string[] = [];
    let empty = 0;
    for (let pages = 0; pages < maxPages; pages++) {
      const p = await sync.page(PORTAL, cursor);
      if (p.contacts.length === 0 && JSON.stringify(p.next) === JSON.stringify(cursor)) {
        empty++;
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      ids.push(...p.contacts.map((c) => c.id));
      cursor = p.next;
      if (cursor === null) break;
    }
    return { ids, cursor, empty };
  };
  const exportCalls = () => proxy.exchanges.filter((e) => e.path.startsWith('/crm/v3/exports/')).length;

  it('above the threshold: one export, read page by page; a restart resumes from the rows stored', async () => {
    // ids 1…5,000 (901 and 902 among them)
    fake.seedContacts(PORTAL, 5_000);
    const { crm } = await installed();
    fake.exports.hold = 'queue';
    const first = new HubspotInitialSync(crm, { exportThreshold: 1_000, exportPageSize: 1_500, exportPollMs: 0 });
    const begun = await first.page(PORTAL, null);
    expect(begun.contacts).toEqual([]);
    expect(begun.next).toMatchObject({ mode: 'export', rows: 0 });
    // still PENDING: the same cursor back, nothing read
    expect(await first.page(PORTAL, begun.next)).toEqual({ contacts: [], next: begun.next });
    fake.exports.release();
    const part = await run(first, begun.next, 2);
    expect(part.ids.length).toBe(3_000);
    await first.close();
    // another process picks the stored cursor up: the file is opened again (a fresh URL) past 3,000 rows
    const second = new HubspotInitialSync(crm, { exportThreshold: 1_000, exportPageSize: 1_500, exportPollMs: 0 });
    const rest = await run(second, part.cursor);
    const ids = [...part.ids, ...rest.ids];
    expect(ids.length).toBe(5_000);
    expect(new Set(ids).size).toBe(5_000);
    expect(proxy.exchanges.filter((e) => e.path === '/crm/v3/objects/contacts').length).toBe(0);
    expect(proxy.exchanges.filter((e) => e.method === 'POST' && e.path === '/crm/v3/exports/export/async').length).toBe(1);
  });

  it('an export still being written is asked about at most every exportPollMs', async () => {
    fake.seedContacts(PORTAL, 2_000);
    const { crm } = await installed();
    fake.exports.hold = 'queue';
    let now = 0;
    const sync = new HubspotInitialSync(crm, { exportThreshold: 1_000, exportPollMs: 5_000, now: () => now });
    const begun = await sync.page(PORTAL, null);
    const statusCalls = () => proxy.exchanges.filter((e) => STATUS.test(e.path)).length;
    for (let i = 0; i < 10; i++) await sync.page(PORTAL, begun.next);
    expect(statusCalls()).toBe(1);
    now += 5_000;
    await sync.page(PORTAL, begun.next);
    expect(statusCalls()).toBe(2);
    fake.exports.release();
  });

  it('a download cut off midway: the page fails, and the next call reopens the file from the rows stored', async () => {
    fake.seedContacts(PORTAL, 30_000);
    const { crm } = await installed();
    let downloads = 0;
    // the first download stops after 300 KB of the zip (a dropped connection)
    const cutting: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (downloads++ > 0 || res.body === null) return res;
      const reader = res.body.getReader();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done || sent > 300_000) {
            controller.error(new Error('connection reset'));
            return;
          }
          sent += value.length;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const sync = new HubspotInitialSync(crm, { exportThreshold: 1_000, exportPageSize: 5_000, exportPollMs: 0, fetchFile: cutting });
    let cursor: InitialCursor | null = null;
    const ids: string[] = [];
    let failures = 0;
    for (let i = 0; i < 500; i++) {
      let p: Awaited<ReturnType<HubspotInitialSync['page']>>;
      try {
        p = await sync.page(PORTAL, cursor);
      } catch (e) {
        failures++;
        expect((e as Error).message).toMatch(/connection reset/);
        continue;
      }
      if (p.contacts.length === 0 && JSON.stringify(p.next) === JSON.stringify(cursor)) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      ids.push(...p.contacts.map((c) => c.id));
      cursor = p.next;
      if (cursor === null) break;
    }
    expect(failures).toBe(1);
    expect(downloads).toBe(2);
    expect(ids.length).toBe(30_000);
    expect(new Set(ids).size).toBe(30_000);
  });

  it('at or below the threshold: pages through the contacts list, no export', async () => {
    fake.seedContacts(PORTAL, 250);
    const { crm } = await installed();
    const r = await run(new HubspotInitialSync(crm, { exportThreshold: 252 }), null);
    expect(new Set(r.ids).size).toBe(252);
    expect(exportCalls()).toBe(0);
    conforms(proxy.last('POST', '/crm/v3/objects/contacts/search'), 'contacts-v3');
  });

  it('a portal that did not grant crm.export pages instead', async () => {
    fake.seedContacts(PORTAL, 250);
    const { crm } = await installed({ decline: ['crm.export'] });
    const r = await run(new HubspotInitialSync(crm, { exportThreshold: 10 }), null);
    expect(new Set(r.ids).size).toBe(252);
    expect(exportCalls()).toBe(1);
  });

  it('an export cancelled in HubSpot: the sync pages from the start instead', async () => {
    fake.seedContacts(PORTAL, 150);
    const { crm } = await installed();
    fake.exports.hold = 'queue';
    const sync = new HubspotInitialSync(crm, { exportThreshold: 10, exportPollMs: 0 });
    const begun = await sync.page(PORTAL, null);
    fake.exports.cancel((begun.next as { taskId: string }).taskId);
    fake.exports.release();
    const r = await run(sync, begun.next);
    expect(new Set(r.ids).size).toBe(152);
  });
});
