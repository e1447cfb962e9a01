/** Worker alone: events already in the inbox, processed on this thread; events/s and CPU per event. */
import { inProcessSystem } from './support.js';

const N = Number(process.env.BENCH_WORKER_EVENTS ?? 4000);
const { store, system } = await inProcessSystem();
const offset = 12 - new Date().getUTCHours();
const zone = `Etc/GMT${offset >= 0 ? '-' : '+'}${Math.abs(offset)}`;
const ids: string[] = [];
for (let i = 0; i < 2000; i++)
  ids.push(
    (
      await store.contacts.upsert(
        { identities: [{ kind: 'phone', value: `+2547002${String(i).padStart(5, '0')}` }], timezone: zone },
        Date.now(),
      )
    ).contact.id,
  );
for (let i = 0; i < N; i += 100) {
  await store.inbox.acceptMany(
    Array.from({ length: 100 }, (_, k) => {
      const n = i + k;
      const e = {
        id: `w-${n}`,
        type: 'invoice.overdue',
        occurredAt: new Date().toISOString(),
        contact: { id: ids[n % ids.length] },
        object: { type: 'invoice', id: `inv-${n}` },
      };
      return { source: 'api', eventId: e.id, type: e.type, payload: { ...e, source: 'api' } };
    }),
    Date.now(),
  );
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let done = 0;
for (;;) {
  const n = await system.runtime.inbox.processReady();
  await system.runtime.timers.run();
  done += n;
  if (n === 0) break;
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  `worker only: ${done} events in ${ms.toFixed(0)} ms: ${Math.round((done / ms) * 1000)} events/s, ${((cpu.user + cpu.system) / 1000 / done).toFixed(2)} ms CPU per event (${(cpu.system / 1000 / done).toFixed(2)} system)`,
);
await system.close();
