import type { Logger } from './logger.js';

/** The fields that make a kind of warning beside its message: what it is about, as our code names it. */
const KIND_FIELDS = ['provider', 'dependency', 'guesser'] as const;

/** How many kinds of warning one throttle remembers (the one written longest ago is forgotten first). */
const MAX_KINDS = 1_000;

/**
 * A logger whose warnings are written at most once per `everyMs` per kind, the rest counted and
 * told with the next one written (`alsoSince`: how many of that kind were left out since the last
 * line). For what anyone on the network can make us log (a webhook with a bad signature, a replay,
 * `/readyz` while the database is away): one line per request would let them fill the disk. A kind
 * is the message with the `provider`, `dependency` or `guesser` (a keyed fingerprint) it names,
 * never anything else the request chose (a path would make every request a kind of its own).
 * Everything else passes through unchanged (a child logger is the target's, not throttled).
 */
export function warningsThrottled(log: Logger, everyMs = 10_000, now: () => number = Date.now): Logger {
  const kinds = new Map<string, { at: number; left: number }>();
  const warn = (given: unknown, ...rest: unknown[]) => {
    // an Error first is pino's `{ err }` (kept whole: spreading an Error keeps none of it)
    const first = given instanceof Error ? { err: given } : given;
    const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : null;
    const message = fields !== null ? rest[0] : first;
    const kind = [String(message), ...KIND_FIELDS.map((f) => (fields !== null && typeof fields[f] === 'string' ? fields[f] : ''))].join(
      '\u0000',
    );
    const t = now();
    const seen = kinds.get(kind);
    if (seen !== undefined && t - seen.at < everyMs) {
      seen.left++;
      return;
    }
    kinds.delete(kind);
    kinds.set(kind, { at: t, left: 0 });
    if (kinds.size > MAX_KINDS) kinds.delete(kinds.keys().next().value as string);
    const left = seen?.left ?? 0;
    if (left === 0) (log.warn as (...a: unknown[]) => void)(first, ...rest);
    else if (fields !== null) (log.warn as (...a: unknown[]) => void)({ ...fields, alsoSince: left }, ...rest);
    else (log.warn as (...a: unknown[]) => void)({ alsoSince: left }, first, ...rest);
  };
  return new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === 'warn') return warn;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
