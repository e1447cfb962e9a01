/**
 * Requests naming one new identity at the same moment (a message and an event for a new phone,
 * on two instances): one contact comes of them, holding the identity, on both databases.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { storeFactories } from '../store/testing.js';

describe.each(storeFactories)('a new identity named by requests at once ($name)', (factory) => {
  it('gives every request the same contact, which keeps the identity; no contact is left without it', async () => {
    const { store, db, dispose } = await factory.open();
    try {
      for (let round = 0; round < 5; round++) {
        const phone = `+25471140${String(round).padStart(4, '0')}`;
        const email = `race${round}@example.com`;
        // eight upserts of the same person at once, some also naming an email
        const ids = await Promise.all(
          Array.from({ length: 8 }, (_, k) =>
            store.contacts
              .upsert(
                {
                  identities:
                    k % 2 === 0
                      ? [{ kind: 'phone', value: phone }]
                      : [
                          { kind: 'email', value: email },
                          { kind: 'phone', value: phone },
                        ],
                },
                Date.now(),
              )
              .then((r) => r.contact.id),
          ),
        );
        expect(new Set(ids).size).toBe(1);
        const owner = await store.contacts.findByIdentity('phone', phone);
        expect(owner?.id).toBe(ids[0]);
        const orphans = await sql<{ n: number | string }>`
          select count(*) as n from contacts c
          where c.merged_into is null and not exists (select 1 from identities i where i.contact_id = c.id)`.execute(db.db);
        expect(Number(orphans.rows[0]?.n)).toBe(0);
      }
    } finally {
      await dispose();
    }
  });
});
