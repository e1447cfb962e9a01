import type { CompiledRuleset, Contact } from '@signalbox/engine';

/** The contact's address on a channel: the identity of the kind the ruleset says the channel uses. */
export function addressFor(rs: CompiledRuleset, contact: Pick<Contact, 'identities'>, channel: string): string | undefined {
  const kind = rs.source.channels[channel]?.address;
  return contact.identities.find((i) => i.kind === kind)?.value;
}
