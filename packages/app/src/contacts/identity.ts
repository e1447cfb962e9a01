import type { IdentityKind } from '@signalbox/engine';
import { ConflictError, InputError } from '../errors.js';

/** An identity that is not in a form we accept; `path` points at it within the input. */
export class IdentityError extends InputError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message, [{ path, message }]);
  }

  /** The same problem, located within a larger input. */
  at(base: string): IdentityError {
    return new IdentityError(`${base}${this.path}`, this.message);
  }
}

/**
 * Every identity a request names belongs to other contacts that cannot be this one (their
 * email/phone differ): nothing would be left to find the new contact by, so nothing is stored.
 * `paths` point at each identity within the input.
 */
export class IdentityConflictError extends ConflictError {
  constructor(
    readonly conflicts: ReadonlyArray<{ path: string; otherContactId: string }>,
    private readonly base = '',
  ) {
    super(
      'IDENTITY_CONFLICT',
      'every identity given belongs to another contact whose identities differ: name the contact by its id, or give an identity that is its own',
      conflicts.map((c) => ({ path: `${base}${c.path}`, message: `belongs to contact ${c.otherContactId}` })),
    );
  }

  /** The same problem, located within a larger input. */
  at(base: string): IdentityConflictError {
    return new IdentityConflictError(this.conflicts, `${base}${this.base}`);
  }
}

const hasControl = (v: string): boolean => {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

/**
 * An address as mail systems take it: a local part of letters (any script, RFC 6531), digits,
 * RFC 5322's symbols and dots (Japanese carriers gave out `taro.@docomo.ne.jp` and `a..b@…`: dots
 * are where RFC 5322 and delivered mail disagree, and the mail wins); a domain of labels of
 * letters, digits and inner hyphens, a top-level label that starts with a letter, no trailing dot.
 * Invisible characters (a zero-width space pasted from a spreadsheet) are in none of those
 * classes: an address that carried one would be another contact than the one typed without it.
 */
const LOCAL = "[\\p{L}\\p{N}\\p{M}!#$%&'*+/=?^_`{|}~.-]+";
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\p{M}-]{0,61}[\\p{L}\\p{N}\\p{M}])?';
const TOP_LABEL = '\\p{L}[\\p{L}\\p{N}\\p{M}-]{0,61}[\\p{L}\\p{N}\\p{M}]';
const EMAIL = new RegExp(`^${LOCAL}@(?:${LABEL}\\.)+${TOP_LABEL}$`, 'u');

function isEmail(e: string): boolean {
  const at = e.lastIndexOf('@');
  return e.length <= 254 && at >= 1 && at <= 64 && EMAIL.test(e);
}

/**
 * The form an identity is stored and looked up in (E.164 phones, lower-cased emails, trimmed ids),
 * without judging whether it is one we would take now: an address stored before a check was
 * added is still found by what it is. Throws only for what no stored identity can be.
 */
export function canonicalIdentity(kind: IdentityKind, value: string, path = ''): string {
  const v = value.trim();
  switch (kind) {
    case 'phone':
    case 'whatsapp':
    case 'viber': {
      const digits = v.replace(/[\s().-]/g, '');
      if (!/^\+[1-9]\d{6,14}$/.test(digits)) throw new IdentityError(path, `"${kind}" must be an E.164 number (+ and 7–15 digits)`);
      return digits;
    }
    case 'email':
      // a control character (NUL, a line break) is in no address or id: stored, it would match nothing typed
      if (hasControl(v)) throw new IdentityError(path, 'must not contain control characters');
      return v.toLowerCase();
    default:
      if (v === '') throw new IdentityError(path, 'must not be empty');
      if (hasControl(v)) throw new IdentityError(path, 'must not contain control characters');
      return v;
  }
}

/** An identity as we take it now: its canonical form, and an email that is an address (see `isEmail`). */
export function normalizeIdentity(kind: IdentityKind, value: string, path = ''): string {
  const v = canonicalIdentity(kind, value, path);
  if (kind === 'email' && !isEmail(v)) throw new IdentityError(path, 'not an email address');
  return v;
}

/** Kinds a contact has at most one of, per CRM: two different values mean two different people. */
export const SINGULAR_KINDS: ReadonlySet<string> = new Set(['email', 'hubspot', 'salesforce']);
export const CRM_KINDS: ReadonlySet<string> = new Set(['hubspot', 'salesforce']);
