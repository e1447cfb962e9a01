import { zodProblems } from '@signalbox/engine';
import type { z } from 'zod';
import { InputError } from '../errors.js';

/** Parses input with a zod schema, or throws 400 problem+json naming the deepest path of each problem. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, base = ''): z.output<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors = zodProblems(r.error.issues).map((p) => ({ path: `${base}${p.path}`, message: p.message }));
  throw new InputError(
    `invalid input: ${errors
      .slice(0, 3)
      .map((e) => `${e.path || '/'} ${e.message}`)
      .join('; ')}`,
    errors,
  );
}
