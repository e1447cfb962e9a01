import { z } from 'zod';
import { InputError } from '../../errors.js';

/** A query parameter given twice arrives as a list: say to give it once (not "expected string, received array"). */
export const once = (name: string) => ({
  error: (issue: { input?: unknown }) => (Array.isArray(issue.input) ? `give ${name} once` : undefined),
});

/** A page size in a query: digits only (`0x10`, ` 5` and `1e2` are not sizes), 1 to 500, 50 when not given. */
export const pageLimit = z
  .string(once('limit'))
  .regex(/^[0-9]{1,4}$/, 'a whole number from 1 to 500')
  .transform(Number)
  .pipe(z.number().int().min(1).max(500))
  .default(50);

/** Page size and the opaque cursor of the previous page's `next`. */
export const pageFields = {
  limit: pageLimit,
  cursor: z.string(once('cursor')).min(1).max(400).optional(),
};

/** An opaque cursor: the JSON of the last row's sort key, base64url. */
export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** A time-ordered list's cursor: the last row's time (epoch ms, a whole number from 0) and id. */
export const isTimeKey = (v: unknown): v is [number, string] =>
  Array.isArray(v) &&
  v.length === 2 &&
  Number.isSafeInteger(v[0]) &&
  (v[0] as number) >= 0 &&
  typeof v[1] === 'string' &&
  v[1].length > 0 &&
  v[1].length <= 200;

/** Decodes a cursor made by `encodeCursor`, checked by `check`; 400 at /query/cursor otherwise. */
export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (!check(v))
    throw new InputError('not a cursor this list gave', [{ path: '/query/cursor', message: 'use the `next` of the previous page' }]);
  return v;
}

/** An ISO instant in a query, as epoch ms. */
export const isoInstant = z.iso.datetime({ offset: true });

const isoDate = z.iso.date();
/** An instant with its offset, or a date (midnight UTC): `from=2026-11-01&to=2026-12-01` is November. */
export const instantOrDate = z.string().transform((text, ctx) => {
  if (isoDate.safeParse(text).success) return `${text}T00:00:00Z`;
  if (isoInstant.safeParse(text).success) return text;
  ctx.addIssue({ code: 'custom', message: 'an ISO 8601 instant (2026-11-01T00:00:00Z) or a date (2026-11-01: midnight UTC)' });
  return z.NEVER;
});

/** A list's `from`/`to` filter: each an instant or a date, and `to` after `from` (400 at /query/to otherwise, as the reports say). */
export function assertRange(q: { from?: string | undefined; to?: string | undefined }): void {
  if (q.from !== undefined && q.to !== undefined && Date.parse(q.to) <= Date.parse(q.from))
    throw new InputError('`to` must be after `from`', [{ path: '/query/to', message: 'must be after from' }]);
}

/** The page and its `next` cursor (null on the last page). */
export function paged<R, K>(items: R[], limit: number, key: (last: R) => K): { items: R[]; next: string | null } {
  const last = items.at(-1);
  return { items, next: items.length === limit && last !== undefined ? encodeCursor(key(last)) : null };
}
