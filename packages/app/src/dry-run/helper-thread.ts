/** A thread that decides the pages a dry run's reading thread hands it (the second core). */
import { parentPort, workerData } from 'node:worker_threads';
import { loadRuleset } from '@signalbox/engine';
import { evaluateContacts, evaluateReplay } from './evaluate.js';
import { Impact } from './impact.js';
import type { FromHelper, HelperData, ToHelper } from './protocol.js';

const data = workerData as HelperData;
const port = parentPort;
if (port === null) throw new Error('helper-thread.ts runs only as a worker thread');
const baseline = loadRuleset(data.baseline);
const candidate = loadRuleset(data.candidate);
const impact = new Impact();
const reply = (m: FromHelper) => port.postMessage(m);
port.on('message', (m: ToHelper) => {
  try {
    if (m.type === 'page') {
      if (data.sample.kind === 'contacts') evaluateContacts(m.page, data.sample.requests, data.sample.at, baseline, candidate, impact);
      else evaluateReplay(m.page, m.items ?? [], baseline, candidate, impact);
      reply({ type: 'paged', contacts: m.items?.length ?? m.page.contacts.length });
    } else {
      reply({ type: 'impact', impact: impact.data() });
      port.close();
    }
  } catch (err) {
    reply({ type: 'failed', message: (err as Error).message });
  }
});
