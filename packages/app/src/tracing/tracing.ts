import { type Attributes, type Context, context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * Tracing of an event from the inbox to the provider call (OpenTelemetry), off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Off, every function here returns at its first line: no span,
 * no context, nothing stored. A trace crosses the store as the W3C `traceparent` of the span that
 * accepted the event, kept with its inbox row (the worker that applies it may be another thread or
 * another instance).
 */
let on = false;

/** Called once per thread by `startTracing`, after its tracer provider is registered. */
export function tracingStarted(): void {
  on = true;
}

const tracer = () => trace.getTracer('signalbox');

/**
 * Runs `fn` in a span named `name` (a child of `parent`, or of the active span when `parent` is
 * undefined); the span ends when `fn` settles and records its error. Off: just `fn()`.
 */
export function inSpan<T>(name: string, parent: Context | undefined, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!on) return fn();
  return tracer().startActiveSpan(name, { attributes }, parent ?? context.active(), async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active span as a W3C traceparent, to be stored with what carries the trace on (null when off or none). */
export function currentTraceparent(): string | null {
  if (!on) return null;
  const s = trace.getActiveSpan()?.spanContext();
  if (s === undefined || !trace.isSpanContextValid(s)) return null;
  return `00-${s.traceId}-${s.spanId}-${(s.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** The active context, kept by a send claimed now and made after the commit (undefined when off). */
export function currentContext(): Context | undefined {
  return on ? context.active() : undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The context a stored traceparent continues (undefined when off, absent or malformed). */
export function contextOf(traceparent: string | null | undefined): Context | undefined {
  if (!on || traceparent == null) return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16),
    isRemote: true,
  });
}
