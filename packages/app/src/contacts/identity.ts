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
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) throw new IdentityError(path, 'not an email address');
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
