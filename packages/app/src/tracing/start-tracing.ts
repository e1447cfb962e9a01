import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { tracingStarted } from './tracing.js';

/** Where spans go and who sends them (from OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, INSTANCE_ID). */
export interface TracingSettings {
  /** The collector's base URL; spans are POSTed (OTLP/HTTP, JSON) to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  instance: string;
}

/**
 * Registers this thread's tracer provider (each thread has its own: the HTTP thread accepts
 * events, the worker thread applies them and calls providers). Spans are exported in batches;
 * `shutdown` sends what is left.
 */
export function startTracing(s: TracingSettings): { shutdown(): Promise<void> } {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': s.serviceName, 'service.instance.id': s.instance }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${s.endpoint.replace(/\/+$/, '')}/v1/traces` }), { scheduledDelayMillis: 1000 }),
    ],
  });
  provider.register();
  tracingStarted();
  return { shutdown: () => provider.shutdown() };
}
