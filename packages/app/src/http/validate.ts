import { type Problem, toPointer } from '@signalbox/engine';
import type { z } from 'zod';
import { HttpProblem } from './problem.js';

/** Parses a body with a zod schema, or throws 400 problem+json naming each JSON path. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, base = ''): z.output<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors: Problem[] = r.error.issues.map((i) => ({
    path: `${base}${toPointer(i.path as Array<string | number>)}`,
    message: i.message,
  }));
  throw new HttpProblem(
    400,
    'INPUT_INVALID',
    'Bad request',
    `invalid input: ${errors
      .slice(0, 3)
      .map((e) => `${e.path || '/'} ${e.message}`)
      .join('; ')}`,
    errors,
  );
}
