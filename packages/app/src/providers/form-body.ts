import type { Request } from 'express';
import { InputError } from '../errors.js';

/** A form-encoded body (what Twilio and Telerivet post), from the raw bytes the route kept. */
export function formBody(req: Request): URLSearchParams {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded'))
    throw new InputError('expected an application/x-www-form-urlencoded body', [], 'FORM_EXPECTED');
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return new URLSearchParams(raw);
}

/** A field that must be there, or 400 with its path. */
export function field(p: URLSearchParams, name: string, pattern?: RegExp): string {
  const v = p.get(name);
  if (v === null || v === '') throw new InputError(`${name} is required`, [{ path: `/${name}`, message: 'required' }], 'FIELD_MISSING');
  if (pattern !== undefined && !pattern.test(v))
    throw new InputError(`${name} is malformed`, [{ path: `/${name}`, message: `must match ${pattern.source}` }], 'FIELD_INVALID');
  return v;
}
