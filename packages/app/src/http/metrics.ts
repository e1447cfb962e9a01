import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per app (no global state shared between test apps). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'signalbox_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    eventsIngested: new Counter({
      name: 'signalbox_events_ingested_total',
      help: 'Events accepted into the inbox',
      labelNames: ['source', 'duplicate'],
      registers: [registry],
    }),
    messagesRequested: new Counter({
      name: 'signalbox_messages_requested_total',
      help: 'Messages requested, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    receipts: new Counter({
      name: 'signalbox_receipts_total',
      help: 'Provider receipts by provider and status',
      labelNames: ['provider', 'status'],
      registers: [registry],
    }),
    ingestLatency: new Histogram({
      name: 'signalbox_ingest_seconds',
      help: 'Time to make an event durable',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
