import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import type { TimerKind } from '../timers/timer-key.js';
import type { RuntimeMetrics } from './runtime-metrics.js';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600];

/**
 * Signalbox's Prometheus metrics, one registry per thread (no global state shared between test
 * apps): HTTP by full route template, ingest, decisions by type and outcome, provider calls by
 * provider, channel and outcome, receipts, the inbox (lag, outcomes), timers and worker rounds.
 * `withDefaults` adds the process's own (CPU, memory, event loop) on the thread that serves them.
 * `instance` (INSTANCE_ID) labels every series, so several instances' figures stay apart.
 */
export function createMetrics(o: { withDefaults?: boolean; instance?: string } = {}) {
  const registry = new Registry();
  if (o.instance !== undefined) registry.setDefaultLabels({ instance: o.instance });
  if (o.withDefaults !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'signalbox_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'signalbox_http_request_seconds',
      help: 'Time to answer an HTTP request, by route template and method',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventsIngested: new Counter({
      name: 'signalbox_events_ingested_total',
      help: 'Events accepted into the inbox, by source and whether they were duplicates',
      labelNames: ['source', 'duplicate'],
      registers,
    }),
    ingestLatency: new Histogram({
      name: 'signalbox_ingest_seconds',
      help: 'Time to make an event durable',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    decisions: new Counter({
      name: 'signalbox_decisions_total',
      help: 'Messages decided, by message type and outcome (send, defer, suppress, review)',
      labelNames: ['type', 'outcome'],
      registers,
    }),
    providerCalls: new Counter({
      name: 'signalbox_provider_calls_total',
      help: 'Provider calls by provider, channel and outcome (accepted, failed, error)',
      labelNames: ['provider', 'channel', 'outcome'],
      registers,
    }),
    providerLatency: new Histogram({
      name: 'signalbox_provider_call_seconds',
      help: 'Time a provider took to answer, by provider',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    receipts: new Counter({
      name: 'signalbox_receipts_total',
      help: 'Provider receipts by provider and status',
      labelNames: ['provider', 'status'],
      registers,
    }),
    inboxEvents: new Counter({
      name: 'signalbox_inbox_events_total',
      help: 'Inbox events worked, by source and outcome (applied, ignored, retry, dead)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    inboxLag: new Histogram({
      name: 'signalbox_inbox_lag_seconds',
      help: 'Time from an event being received to its being applied, by source',
      labelNames: ['source'],
      buckets: LAG_BUCKETS,
      registers,
    }),
    timersFired: new Counter({ name: 'signalbox_timers_fired_total', help: 'Timers fired, by kind', labelNames: ['kind'], registers }),
    timerLateness: new Histogram({
      name: 'signalbox_timer_lateness_seconds',
      help: 'How long after it was due a timer fired, by kind',
      labelNames: ['kind'],
      buckets: LAG_BUCKETS,
      registers,
    }),
    workerRounds: new Counter({
      name: 'signalbox_worker_rounds_total',
      help: 'Worker rounds, by whether they found work',
      labelNames: ['worked'],
      registers,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** The runtime's reports, counted in `m`. */
export function runtimeMetrics(m: Metrics): RuntimeMetrics {
  return {
    applied: (source, outcome, waitedMs) => {
      m.inboxEvents.inc({ source, outcome });
      if (outcome === 'applied' || outcome === 'ignored') m.inboxLag.observe({ source }, waitedMs / 1000);
    },
    timerFired: (kind: TimerKind, lateMs: number) => {
      m.timersFired.inc({ kind });
      m.timerLateness.observe({ kind }, Math.max(0, lateMs) / 1000);
    },
    round: (worked) => m.workerRounds.inc({ worked: String(worked) }),
    decided: (type, outcome) => m.decisions.inc({ type, outcome }),
    providerCall: (provider, channel, outcome, seconds) => {
      m.providerCalls.inc({ provider, channel, outcome });
      m.providerLatency.observe({ provider }, seconds);
    },
  };
}

/** Gauges read from the store when scraped: the backlog, due timers, dead letters. */
export function storeGauges(
  m: Metrics,
  read: { backlog(): Promise<number>; timersDue(): Promise<number>; deadLetters(): Promise<number> },
) {
  new Gauge({
    name: 'signalbox_inbox_backlog',
    help: 'Events received and not applied yet',
    registers: [m.registry],
    async collect() {
      this.set(await read.backlog());
    },
  });
  new Gauge({
    name: 'signalbox_timers_due',
    help: 'Timers due now and not fired yet',
    registers: [m.registry],
    async collect() {
      this.set(await read.timersDue());
    },
  });
  new Gauge({
    name: 'signalbox_dead_letters',
    help: 'Inbox events given up on (listable, retryable)',
    registers: [m.registry],
    async collect() {
      this.set(await read.deadLetters());
    },
  });
}

/** This thread's metrics together with other threads' (their `getMetricsAsJSON()`), as one exposition. */
export async function exposition(m: Metrics, others: ReadonlyArray<MetricObjectWithValues<MetricValue<string>>[]>): Promise<string> {
  if (others.length === 0) return m.registry.metrics();
  const merged = AggregatorRegistry.aggregate([await m.registry.getMetricsAsJSON(), ...others]);
  return merged.metrics();
}
