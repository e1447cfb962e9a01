/**
 * An email stored before the address check (a zero-width space, a trailing dot) still finds its
 * contact, by lookups and by upserts naming it; a new one is refused.
 */
import { describe, expect, it } from 'vitest';
import { storeFactories } from '../store/testing.js';
import { IdentityError } from './identity.js';

describe.each(storeFactories)('an email stored before the address check ($name)', (factory) => {
  it('is still found, and an upsert naming it updates its contact; a new such address is refused', async () => {
    const { store, db, dispose } = await factory.open();
    try {
      const now = Date.now();
      const { contact } = await store.contacts.upsert({ identities: [{ kind: 'phone', value: '+254711000555' }] }, now);
      const legacy = 'old@example.com.';
      await db.db.insertInto('identities').values({ kind: 'email', value: legacy, contact_id: contact.id, created_at: now }).execute();
      expect((await store.contacts.findByIdentity('email', ' OLD@example.com. '))?.id).toBe(contact.id);
      const again = await store.contacts.upsert(
        { identities: [{ kind: 'email', value: 'Old@Example.com.' }], timezone: 'Africa/Nairobi' },
        now + 1,
      );
      expect(again.contact.id).toBe(contact.id);
      expect(again.contact.timezone).toBe('Africa/Nairobi');
      await expect(
        store.contacts.upsert(
          {
            identities: [
              { kind: 'phone', value: '+254711000556' },
              { kind: 'email', value: 'new@example.com.' },
            ],
          },
          now,
        ),
      ).rejects.toThrow(IdentityError);
      expect(await store.contacts.findByIdentity('phone', '+254711000556')).toBeNull();
    } finally {
      await dispose();
    }
  });
});
