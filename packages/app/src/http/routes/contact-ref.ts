import type { z } from 'zod';
import type { ContactRepository } from '../../contacts/contact-repository.js';
import { IdentityConflictError, IdentityError } from '../../contacts/identity.js';
import { NotFoundError } from '../../errors.js';
import type { contactRef } from './schemas.js';

/** The contact a request names (`base` locates the reference in the body for problems). */
export async function resolveContactRef(
  contacts: ContactRepository,
  ref: z.infer<typeof contactRef>,
  base: string,
  now: number,
): Promise<string> {
  if ('id' in ref) {
    const c = await contacts.get(ref.id);
    if (c === null)
      throw new NotFoundError('CONTACT_NOT_FOUND', `contact ${ref.id} not found`, [{ path: `${base}/id`, message: 'no such contact' }]);
    return c.id;
  }
  try {
    return (await contacts.upsert(ref, now, now, { refuseUnfindable: true })).contact.id;
  } catch (e) {
    if (e instanceof IdentityError || e instanceof IdentityConflictError) throw e.at(base);
    throw e;
  }
}
