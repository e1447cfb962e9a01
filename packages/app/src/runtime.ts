import { availableParallelism } from 'node:os';
import type { ChannelProvider, CompiledRuleset } from '@signalbox/engine';
import type { Chore } from './chore.js';
import type { Clock } from './clock.js';
import { ContentRenderer } from './content/renderer.js';
import { FollowUps } from './delivery/follow-ups.js';
import { SendGate } from './delivery/gate.js';
import { Receipts } from './delivery/receipts.js';
import { Sender } from './delivery/sender.js';
import { Inbound } from './inbound/inbound.js';
import { EventApplier } from './inbox/apply-event.js';
import { type HotWrites, localHotWrites } from './inbox/hot-writes.js';
import { EVENTS_PER_COMMIT, InboxProcessor } from './inbox/inbox-processor.js';
import type { InboxSource } from './inbox/inbox-source.js';
import { Journeys } from './journeys/journeys.js';
import type { Logger } from './logger.js';
import type { RuntimeMetrics } from './metrics/runtime-metrics.js';
import { MessageRequests } from './requests/message-requests.js';
import type { Store } from './store/store.js';
import { DueTimers } from './timers/due-timers.js';
import type { TimerKind } from './timers/timer-key.js';

/** Units of work side by side per round on PostgreSQL (within the pool's 10 connections). */
const DEFAULT_PG_CONCURRENCY = 4;

/**
 * The sides a deployed instance runs when WORKER_CONCURRENCY is not set: one per core beyond the
 * first, 1 to 4. A side overlaps its round trips with the others' only where there is a core to
 * run it (and the database's backend) on. On the 2-core machine, shared with PostgreSQL, 500
 * events/s had p99 419–940 ms at four sides per instance and 216–540 ms at one (two sessions,
 * eleven runs); two instances draining a backlog used 0.61–0.71 of one instance's events per
 * CPU-second at four, 0.60–0.89 at one (noisier than the difference). Cores as the process sees
 * them (`os.availableParallelism`: its CPU affinity; on Node 20 not a container's CPU quota: set
 * WORKER_CONCURRENCY there).
 */
export function defaultWorkerConcurrency(cores: number = availableParallelism()): number {
  return Math.min(DEFAULT_PG_CONCURRENCY, Math.max(1, cores - 1));
}

export interface RuntimeOptions {
  store: Store;
  ruleset: () => CompiledRuleset;
  providers: ReadonlyMap<string, ChannelProvider>;
  clock: Clock;
  log: Logger;
  /** How long a worker's claims last, and the instance that holds them. */
  lease: { ms: number; owner: string };
  /**
   * How many units of work a round runs side by side (PostgreSQL: each takes its own events and
   * timers, disjoint by row locks and ordered per contact by lanes, so one instance's round trips
   * overlap; SQLite has one writer: always 1).
   */
  concurrency?: number;
  /** How long a round's sides keep taking full units of events back to back (default EVENTS_SLICE_MS). */
  eventsSliceMs?: number;
  /**
   * What CRMs add, built on the runtime's own services: steps for the events they send raw, and
   * the worker's chores (write-back, sync).
   */
  extend?: (core: { sender: Sender<Store>; requests: MessageRequests }) => { sources?: readonly InboxSource[]; chores?: readonly Chore[] };
  metrics?: RuntimeMetrics;
}

/**
 * The durable runtime of one thread, wired once: each concept's service with what it needs. Every
 * unit of work is an object passed through them (`Unit`), never a copy of a service.
 */
export interface Runtime {
  store: Store;
  /** Renders templates' content (strict Liquid), for sends and previews. */
  content: ContentRenderer;
  requests: MessageRequests;
  sender: Sender<Store>;
  receipts: Receipts;
  journeys: Journeys;
  inbound: Inbound;
  inbox: InboxProcessor;
  timers: DueTimers;
  /** Ingest's and receipts' writes made on this thread. */
  hotWrites: HotWrites;
  /** One round of the worker's work; how much it did (0: nothing). */
  round(): Promise<number>;
  /**
   * What a starting worker does first: the claims and leases its instance held before it stopped
   * are given up at once (`'*'`: everyone's, where one process owns everything), so their sends
   * are resumed now rather than when the leases run out. Returns how many.
   */
  resumeOwnClaims(owner: string): Promise<number>;
  /** Runs every chore now, whatever its cadence (after an install, a test settling). */
  choresNow(): Promise<number>;
  /** After the worker's last round: what runs in the background (table upkeep) stops; resolves when it has. */
  stop(): Promise<void>;
}

/** How often parked receipts are swept (a race both sides of it missed). */
const SWEEP_EVERY_MS = 5_000;
/** How often the tables' counters are looked at (a round acts only past autovacuum's thresholds). */
const UPKEEP_EVERY_MS = 2_000;
/** How long a round's sides keep taking events back to back before its timers, stalled sends and chores get their turn. */
const EVENTS_SLICE_MS = 250;

export function createRuntime(o: RuntimeOptions): Runtime {
  const { store, ruleset, clock, log } = o;
  const followUps = new FollowUps(clock);
  const receipts = new Receipts({ store, followUps, ruleset, clock });
  const content = new ContentRenderer();
  const gate = new SendGate({ ruleset, content, providers: new Set(o.providers.keys()), followUps, clock, log });
  const providers = o.metrics ? metered(o.providers, o.metrics) : o.providers;
  const sender = new Sender<Store>({ store, providers, gate, followUps, receipts, ruleset, content, clock, log, lease: o.lease });
  const requests = new MessageRequests({ ruleset, content, sender, clock, log, ...(o.metrics ? { metrics: o.metrics } : {}) });
  const journeys = new Journeys({ ruleset, requests, clock });
  const applier = new EventApplier({ journeys, clock });
  const extension = o.extend?.({ sender, requests }) ?? {};
  const inbox = new InboxProcessor({
    store,
    sender,
    applier,
    sources: extension.sources ?? [],
    clock,
    log,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const inbound = new Inbound({ ruleset, sender, requests, clock, log });
  const timers = new DueTimers({
    timers: store.timers,
    lease: o.lease,
    clock,
    log,
    ...(o.metrics ? { onFired: (kind: TimerKind, late: number) => o.metrics?.timerFired(kind, late) } : {}),
    handlers: {
      // a provider call: never inside a transaction (every step of sendStep is resumable)
      step: async (t, complete) => {
        const p = t.payload as { messageId: string; step: number };
        await sender.sendStep(p.messageId, p.step);
        return complete(store.timers);
      },
      timeout: (t, complete) =>
        sender.unitThenSend(async (u) => {
          const p = t.payload as { messageId: string; step: number };
          await followUps.timedOut(u.store, p.messageId, p.step);
          return complete(u.store.timers);
        }),
      journey: (t, complete) =>
        sender.unitThenSend(async (u) => {
          const p = t.payload as { instanceId: string; timerId: string };
          await journeys.advance(u, p.instanceId, { kind: 'timer', timerId: p.timerId });
          return complete(u.store.timers);
        }),
    },
  });
  const upkeep = store.tableUpkeep(log);
  const chores: Chore[] = [
    { name: 'sweep parked receipts', everyMs: SWEEP_EVERY_MS, run: () => receipts.sweepParked() },
    // starts a round in the background (VACUUM waits for nobody's round): see db/table-upkeep.ts
    { name: 'table upkeep', everyMs: UPKEEP_EVERY_MS, run: () => upkeep.run() },
    ...(extension.chores ?? []),
  ];
  const lastRun = new Map<string, number>();
  const runChores = async (all: boolean) => {
    let n = 0;
    const now = Date.now();
    for (const c of chores) {
      if (!all && now - (lastRun.get(c.name) ?? 0) < c.everyMs) continue;
      lastRun.set(c.name, now);
      try {
        n += await c.run();
      } catch (err) {
        log.warn({ chore: c.name, err: (err as Error).message }, 'chore failed; the next round tries again');
      }
    }
    return n;
  };
  return {
    store,
    content,
    requests,
    sender,
    receipts,
    journeys,
    inbound,
    inbox,
    timers,
    hotWrites: localHotWrites(store, receipts),
    async round() {
      const side = store.dialect === 'postgres' ? Math.max(1, o.concurrency ?? DEFAULT_PG_CONCURRENCY) : 1;
      const many = async (k: number, fn: () => Promise<number>) =>
        k === 1 ? fn() : (await Promise.all(Array.from({ length: k }, fn))).reduce((a, b) => a + b, 0);
      // one look at everything the round could do (one statement, not one per kind and side): on a
      // backlog, a side per unit of ready events; a few events, one side; nothing, none
      const look = await store.workAtHand(o.clock.now().getTime(), side * EVENTS_PER_COMMIT);
      // a side that took a full unit of events (a backlog) takes its next at once, for up to
      // EVENTS_SLICE_MS, rather than waiting for the slowest side and the round's timers and chores;
      // one that took fewer lets the next events gather meanwhile (smaller units cost more per event)
      const events = async () => {
        const until = Date.now() + (o.eventsSliceMs ?? EVENTS_SLICE_MS);
        let taken = 0;
        for (;;) {
          // the look (or the full unit before) saw events waiting: no need to ask again
          const k = await inbox.processReady(EVENTS_PER_COMMIT, false);
          taken += k;
          if (k < EVENTS_PER_COMMIT || Date.now() >= until) return taken;
        }
      };
      // a side per unit of ready events (a last, partial one too), up to the round's sides
      const sides = Math.min(side, Math.ceil(look.ready / EVENTS_PER_COMMIT));
      const worked = (look.raw ? await inbox.processRaw(undefined, false) : 0) + (sides > 0 ? await many(sides, events) : 0);
      // timers are judged after the events, on the clock then: what came due meanwhile (a message
      // the round's units scheduled for now, a fallback after a failed send) fires in this round
      // (this process's units noted what they scheduled: no need to ask the database; what other
      // processes scheduled meanwhile, the next round's look sees, at once after a round that worked)
      const isDue = (at: number | null) => at !== null && at <= o.clock.now().getTime();
      const due = isDue(store.timers.takeEarliestWritten()) || isDue(look.nextDue);
      // what the looks saw is claimed without looking again
      const n =
        worked +
        (due ? await many(side, () => timers.run(undefined, false)) : 0) +
        (look.stalled ? await sender.resumeStalled(undefined, false) : 0);
      const total = n + (await runChores(false));
      o.metrics?.round(total > 0);
      return total;
    },
    choresNow: () => runChores(true),
    stop: () => upkeep.stop(),
    async resumeOwnClaims(owner) {
      return (await sender.expireLeasesOf(owner)) + (await timers.releaseClaimsOf(owner));
    },
  };
}

/** The providers, each call counted by provider, channel and outcome and timed. */
function metered(providers: ReadonlyMap<string, ChannelProvider>, m: RuntimeMetrics): ReadonlyMap<string, ChannelProvider> {
  return new Map(
    [...providers].map(([name, p]) => [
      name,
      {
        name: p.name,
        async send(message) {
          const t0 = performance.now();
          try {
            const r = await p.send(message);
            // a router reports which provider actually served it
            m.providerCall(r.provider ?? name, message.channel, r.status, (performance.now() - t0) / 1000);
            return r;
          } catch (err) {
            m.providerCall(name, message.channel, 'error', (performance.now() - t0) / 1000);
            throw err;
          }
        },
      } satisfies ChannelProvider,
    ]),
  );
}
