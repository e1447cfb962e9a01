import type { CompiledRuleset, MessageRequest } from '@signalbox/engine';
import { applyFields, emptyContact } from '../contacts/contact-data.js';
import type { SnapshotPage } from '../contacts/contact-snapshots.js';
import type { DemoContact } from '../demo/demo-contacts.js';
import { evaluateContacts } from './evaluate.js';
import { Impact, type ImpactData } from './impact.js';

/**
 * A dry run over contacts given in memory (no database): the same evaluation as a stored dry
 * run's, on a page built as the snapshot reader builds it. Ids are `<prefix>-0000`, `-0001`, ….
 */
export function dryRunInMemory(o: {
  contacts: readonly DemoContact[];
  requests: readonly MessageRequest[];
  at: number;
  baseline: CompiledRuleset;
  candidate: CompiledRuleset;
  idPrefix?: string;
}): ImpactData {
  const page: SnapshotPage = { contacts: [], identities: [], consent: [], history: [], events: [] };
  o.contacts.forEach((c, i) => {
    const id = `${o.idPrefix ?? 'contact'}-${String(i).padStart(4, '0')}`;
    page.contacts.push([id, JSON.stringify(applyFields(emptyContact(id), c.fields))]);
    for (const x of c.identities) page.identities.push([id, x.kind, x.value]);
    for (const r of c.consent) page.consent.push([id, r.channel, r.purpose, r.status, r.source, Date.parse(r.at)]);
  });
  const impact = new Impact();
  evaluateContacts(page, o.requests, o.at, o.baseline, o.candidate, impact);
  return impact.data();
}
