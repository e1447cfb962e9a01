import type { IdentityKind } from '@signalbox/engine';
import { InputError } from '../errors.js';

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

const hasControl = (v: string): boolean => {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

/**
 * An address as mail systems take it (RFC 5321/5322 dot-atoms, letters of any script as RFC 6531
 * allows): no leading, trailing or doubled dot in the local part; domain labels of letters, digits
 * and inner hyphens; a top-level label that starts with a letter; no trailing dot. Invisible
 * characters (a zero-width space pasted from a spreadsheet) are in none of those classes: an
 * address that carries one would be another contact than the one typed without it.
 */
const LOCAL_CHAR = "[\\p{L}\\p{N}\\p{M}!#$%&'*+/=?^_`{|}~-]";
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\p{M}-]{0,61}[\\p{L}\\p{N}\\p{M}])?';
const TOP_LABEL = '\\p{L}[\\p{L}\\p{N}\\p{M}-]{0,61}[\\p{L}\\p{N}\\p{M}]';
const EMAIL = new RegExp(`^${LOCAL_CHAR}+(?:\\.${LOCAL_CHAR}+)*@(?:${LABEL}\\.)+${TOP_LABEL}$`, 'u');

function isEmail(e: string): boolean {
  const at = e.lastIndexOf('@');
  return e.length <= 254 && at >= 1 && at <= 64 && EMAIL.test(e);
}

/** Canonical form of an identity: E.164 phones, lower-cased emails, trimmed ids. */
export function normalizeIdentity(kind: IdentityKind, value: string, path = ''): string {
  const v = value.trim();
  switch (kind) {
    case 'phone':
    case 'whatsapp':
    case 'viber': {
      const digits = v.replace(/[\s().-]/g, '');
      if (!/^\+[1-9]\d{6,14}$/.test(digits)) throw new IdentityError(path, `"${kind}" must be an E.164 number (+ and 7–15 digits)`);
      return digits;
    }
    case 'email': {
      // a control character (NUL, a line break) is in no address or id: stored, it would match nothing typed
      if (hasControl(v)) throw new IdentityError(path, 'must not contain control characters');
      const e = v.toLowerCase();
      if (!isEmail(e)) throw new IdentityError(path, 'not an email address');
      return e;
    }
    default:
      if (v === '') throw new IdentityError(path, 'must not be empty');
      if (hasControl(v)) throw new IdentityError(path, 'must not contain control characters');
      return v;
  }
}

/** Kinds a contact has at most one of, per CRM: two different values mean two different people. */
export const SINGULAR_KINDS: ReadonlySet<string> = new Set(['email', 'hubspot', 'salesforce']);
export const CRM_KINDS: ReadonlySet<string> = new Set(['hubspot', 'salesforce']);
