import { z } from 'zod';
import { InputError } from '../../errors.js';

/** Page size and the opaque cursor of the previous page's `next`. */
export const pageFields = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(400).optional(),
};

/** An opaque cursor: the JSON of the last row's sort key, base64url. */
export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key)).toString('base64url');

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

/** The page and its `next` cursor (null on the last page). */
export function paged<R, K>(items: R[], limit: number, key: (last: R) => K): { items: R[]; next: string | null } {
  const last = items.at(-1);
  return { items, next: items.length === limit && last !== undefined ? encodeCursor(key(last)) : null };
}
