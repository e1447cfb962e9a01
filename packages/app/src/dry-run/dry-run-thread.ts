/**
 * A dry run's own thread: its own database connection, one read snapshot for the whole run (no
 * write lock: sending goes on), contacts read a large page at a time, decided here and by helper
 * threads with the baseline's and the candidate's compiled rulesets (each compiled once).
 */
import { parentPort, type Worker, workerData } from 'node:worker_threads';
import { loadRuleset } from '@signalbox/engine';
import type { SnapshotPage } from '../contacts/contact-snapshots.js';
import { eventReachOf } from '../contacts/context.js';
import { openLocation } from '../db/open.js';
import { MESSAGE_PRESSURE } from '../messages/status.js';
import { Store } from '../store/store.js';
import { evaluateContacts, evaluateReplay, PRESSURE_DAYS, type ReplayItem } from './evaluate.js';
import { Impact, type ImpactData } from './impact.js';
import type { DryRunThreadData, FromDryRun, FromHelper, HelperData, ToHelper } from './protocol.js';
import { spawnThread } from './spawn.js';

const DAY = 86_400_000;
/** Pages handed to one helper and not yet decided: enough to keep it busy while this thread reads. */
const IN_FLIGHT = 2;

interface Helper {
  thread: Worker;
  inFlight: number;
  /** Resolves when a page comes back (this thread waits on it when every helper is busy). */
  waiters: Array<() => void>;
  impact: Promise<ImpactData>;
}

function startHelper(data: HelperData, onPaged: (n: number) => void): Helper {
  const thread = spawnThread('./helper-thread', data);
  const h: Helper = { thread, inFlight: 0, waiters: [], impact: Promise.resolve(null as unknown as ImpactData) };
  h.impact = new Promise<ImpactData>((resolve, reject) => {
    thread.on('message', (m: FromHelper) => {
      if (m.type === 'paged') {
        h.inFlight--;
        onPaged(m.contacts);
        for (const w of h.waiters.splice(0)) w();
      } else if (m.type === 'impact') resolve(m.impact);
      else reject(new Error(m.message));
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`a dry-run helper thread exited (${code})`)));
  });
  h.impact.catch(() => undefined);
  return h;
}

async function run(data: DryRunThreadData, post: (m: FromDryRun) => void): Promise<void> {
  const baseline = loadRuleset(data.baseline);
  const candidate = loadRuleset(data.candidate);
  // the events decisions under either ruleset read, as live decisions read them (context.ts)
  const reach = eventReachOf(baseline, candidate);
  const open = await openLocation(data.database);
  const store = new Store(open);
  let done = 0;
  let total = 0;
  let lastPost = 0;
  const progress = (n: number) => {
    done += n;
    const t = Date.now();
    if (t - lastPost >= 250) {
      lastPost = t;
      post({ type: 'progress', done, total });
    }
  };
  const helpers: Helper[] = [];
  for (let i = 0; i < data.helpers; i++)
    helpers.push(startHelper({ baseline: data.baseline, candidate: data.candidate, sample: data.sample }, progress));
  const own = new Impact();
  const decide = async (page: SnapshotPage, items?: ReplayItem[]) => {
    const free = helpers.find((h) => h.inFlight < IN_FLIGHT);
    if (free !== undefined) {
      free.inFlight++;
      free.thread.postMessage({ type: 'page', page, ...(items ? { items } : {}) } satisfies ToHelper);
      return;
    }
    if (data.sample.kind === 'contacts') evaluateContacts(page, data.sample.requests, data.sample.at, baseline, candidate, own);
    else evaluateReplay(page, items ?? [], baseline, candidate, own);
    progress(items?.length ?? page.contacts.length);
    // let the helpers' answers in before the next page
    await new Promise((r) => setImmediate(r));
  };
  try {
    await store.readSnapshot(async (snap) => {
      const sample = data.sample;
      if (sample.kind === 'contacts') {
        total = await snap.contactSnapshots.count();
        post({ type: 'progress', done: 0, total });
        const window = {
          pressureSince: sample.at - PRESSURE_DAYS * DAY,
          eventsSince: sample.at - reach.days * DAY,
          lasting: reach.lasting,
          until: sample.at + 1,
          pressureStatuses: MESSAGE_PRESSURE,
        };
        let after: string | null = null;
        for (;;) {
          const page = await snap.contactSnapshots.page(after, data.pageSize, window);
          const last = page.contacts.at(-1);
          if (last === undefined) break;
          after = last[0];
          await decide(page);
        }
      } else {
        total = await snap.messages.countBetween(sample.from, sample.to);
        post({ type: 'progress', done: 0, total });
        const window = {
          pressureSince: sample.from - PRESSURE_DAYS * DAY,
          eventsSince: sample.from - reach.days * DAY,
          lasting: reach.lasting,
          until: sample.to,
          pressureStatuses: MESSAGE_PRESSURE,
        };
        let after: { createdAt: number; id: string } | null = null;
        for (;;) {
          const requests = await snap.messages.requestsBetween(sample.from, sample.to, after, data.pageSize);
          const last = requests.at(-1);
          if (last === undefined) break;
          after = { createdAt: last.createdAt, id: last.id };
          const ids = [...new Set(requests.map((r) => r.contactId))].sort();
          const page = await snap.contactSnapshots.page(null, ids.length, window, ids);
          await decide(
            page,
            requests.map((r) => ({ contactId: r.contactId, at: r.createdAt, request: r.request })),
          );
        }
      }
    });
    for (const h of helpers) h.thread.postMessage({ type: 'finish' } satisfies ToHelper);
    const parts = await Promise.all(helpers.map((h) => h.impact));
    post({ type: 'progress', done, total });
    post({ type: 'done', impact: Impact.merge([own.data(), ...parts]), total });
  } finally {
    for (const h of helpers) void h.thread.terminate();
    await store.close();
  }
}

const port = parentPort;
if (port === null) throw new Error('dry-run-thread.ts runs only as a worker thread');
run(workerData as DryRunThreadData, (m) => port.postMessage(m)).catch((err: unknown) => {
  port.postMessage({ type: 'failed', message: (err as Error).message } satisfies FromDryRun);
});
