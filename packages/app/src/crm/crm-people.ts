import type { CrmConnector, CrmPerson, CrmRecordRef } from '@signalbox/connectors';
import { type CompiledRuleset, type ConsentRecord, foldConsent, type IdentityKind } from '@signalbox/engine';
import type { ConsentLedger } from '../contacts/consent-ledger.js';
import type { ContactRepository, ContactUpsert } from '../contacts/contact-repository.js';
import { normalizeIdentity } from '../contacts/identity.js';
import { marketOfPhone } from '../contacts/markets.js';
import { uuidv7 } from '../ids.js';

export interface PeopleStore {
  contacts: ContactRepository;
  consent: ConsentLedger;
}

/**
 * A CRM's people as our contacts: found by their CRM identity, or fetched from the CRM and stored
 * (a webhook or a workflow can name a person the sync has not reached yet). The same for every CRM.
 */
export class CrmPeople {
  constructor(
    private readonly d: {
      connector: CrmConnector;
      ruleset: () => CompiledRuleset;
      now: () => number;
    },
  ) {}

  get crm(): IdentityKind {
    return this.d.connector.crm;
  }

  /** Our contact behind a CRM person: ours if known, else fetched and stored now; null if the CRM has none. */
  async contactFor(store: PeopleStore, account: string, ref: CrmRecordRef): Promise<string | null> {
    const local = await store.contacts.findByIdentity(this.crm, this.d.connector.identityOf(account, ref));
    if (local !== null) return local.id;
    const person = await this.d.connector.getPerson(account, ref);
    return person === null || person.deleted ? null : this.store(store, person);
  }

  /** Our contacts behind a CRM record (a ticket's, a case's people; a person is their own). */
  async contactsOf(store: PeopleStore, account: string, record: CrmRecordRef): Promise<string[]> {
    const out: string[] = [];
    for (const ref of await this.d.connector.peopleOf(account, record)) {
      const id = await this.contactFor(store, account, ref);
      if (id !== null && !out.includes(id)) out.push(id);
    }
    return out;
  }

  /**
   * Stores (creates, updates or merges) a CRM person; returns our id. What the CRM says of consent
   * is added to the ledger where it differs from what the ledger says now (a sync run again adds
   * nothing).
   */
  async store(store: PeopleStore, person: CrmPerson): Promise<string> {
    const { contact } = await store.contacts.upsert(this.upsertOf(person), this.d.now());
    if (person.consent.length > 0) {
      const ledger = await store.consent.of(contact.id);
      const state = foldConsent(ledger, this.d.ruleset().source.consent.defaults);
      for (const r of person.consent) if (!agrees(state, r)) await store.consent.append(contact.id, r, this.d.now());
    }
    return contact.id;
  }

  /**
   * Many people at once (a sync's page), with the same outcome as storing them one by one: those
   * none of whose identities we know (nor another of the page shares) are new, and are inserted
   * in bulk (multi-row INSERTs); the others (known, merging, conflicting) go through `store`.
   * Returns how many were stored.
   */
  async storeMany(store: PeopleStore, people: readonly CrmPerson[]): Promise<number> {
    const live = people.filter((p) => !p.deleted);
    const keys = live.map((p) => p.identities.map(keyOf));
    const known = await store.contacts.knownIdentities(live.flatMap((p) => p.identities));
    const seen = new Map<string, number>();
    for (const ks of keys) for (const k of new Set(ks)) if (k !== null) seen.set(k, (seen.get(k) ?? 0) + 1);
    const fresh: CrmPerson[] = [];
    const rest: CrmPerson[] = [];
    live.forEach((p, n) => {
      const ks = keys[n] ?? [];
      const isNew = ks.length > 0 && ks.every((k) => k !== null && !known.has(k) && seen.get(k) === 1);
      (isNew ? fresh : rest).push(p);
    });
    if (fresh.length > 0) {
      const now = this.d.now();
      const defaults = foldConsent([], this.d.ruleset().source.consent.defaults);
      await store.contacts.insertMany(
        fresh.map((p) => ({
          id: uuidv7(now),
          contact: this.upsertOf(p),
          identities: p.identities,
          consent: p.consent.filter((r) => !agrees(defaults, r)),
        })),
        now,
      );
    }
    for (const p of rest) await this.store(store, p);
    return live.length;
  }

  /** Our contact record from the CRM's: identities, time zone, the market (the CRM's, or the phone's calling code). */
  upsertOf(p: CrmPerson): ContactUpsert {
    const phone = p.identities.find((i) => i.kind === 'phone')?.value;
    const market = p.market ?? (phone === undefined ? undefined : marketOfPhone(phone, Object.keys(this.d.ruleset().source.markets)));
    return {
      // an identity we cannot use (a CRM's mistyped email) is left out: the person's others still are theirs
      identities: p.identities.filter((i) => keyOf(i) !== null),
      ...(p.timezone ? { timezone: p.timezone } : {}),
      ...(market ? { market } : {}),
    };
  }
}

/** An identity's stored form as `kind:value`, or null where it is not one we can use. */
function keyOf(i: { kind: string; value: string }): string | null {
  try {
    return `${i.kind}:${normalizeIdentity(i.kind as IdentityKind, i.value)}`;
  } catch {
    return null;
  }
}

/** Whether the ledger's current state already says what a CRM's consent line says. */
function agrees(state: ReturnType<typeof foldConsent>, r: ConsentRecord): boolean {
  if (r.purpose === '*') return false;
  return state.allows(r.channel, r.purpose) === (r.status === 'granted');
}
