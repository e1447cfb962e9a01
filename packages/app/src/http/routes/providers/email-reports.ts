import { foldConsent } from '@signalbox/engine';
import { canonicalIdentity } from '../../../contacts/identity.js';
import type { Store } from '../../../store/store.js';

/** A bounce or a complaint about one of our emails, as a mail provider or a DSN/ARF parser reports it. */
export interface EmailReport {
  type: 'bounce' | 'complaint';
  recipient: string;
  /** The Message-ID of our email (without angle brackets), when the report quotes it. */
  messageId?: string | undefined;
  /** A hard bounce (5.x.x: the mailbox does not exist); a soft one changes nothing. Default true. */
  permanent?: boolean | undefined;
  diagnostic?: string | undefined;
  at: string;
}

/**
 * Applies a report: a hard bounce marks the address unreachable (decisions stop emailing it); a
 * complaint (the contact marked it as spam) revokes marketing consent on email. Returns the
 * contact it was about, or null when the address is not one of ours.
 */
export async function applyEmailReport(store: Store, provider: string, r: EmailReport, now: number): Promise<string | null> {
  return store.transaction(async (tx) => {
    const contact = await tx.contacts.findByIdentity('email', r.recipient);
    if (contact === null) return null;
    const why = `${provider} ${r.type}${r.diagnostic !== undefined ? `: ${r.diagnostic.slice(0, 300)}` : ''}`;
    if (r.type === 'bounce' && r.permanent !== false) {
      await tx.contacts.markUnreachable('email', canonicalIdentity('email', r.recipient), why, now);
      await tx.audit.record(`contact:${contact.id}`, 'identity.unreachable', contact.id, { kind: 'email', provider }, now);
    }
    if (r.type === 'complaint') {
      await tx.consent.append(
        contact.id,
        { channel: 'email', purpose: 'marketing', status: 'revoked', source: 'provider', evidence: why, at: r.at },
        now,
      );
      await tx.audit.record(`contact:${contact.id}`, 'consent.complaint', contact.id, { channel: 'email', provider }, now);
    }
    return contact.id;
  });
}

/** Only the ledger's own lines decide here (a default says nothing about what was asked). */
const NO_DEFAULTS = { marketing: 'revoked', service: 'revoked', transactional: 'revoked' } as const;

/** The contact's own unsubscribe link: marketing consent on email revoked. Returns the contact, or null. */
export async function unsubscribeByMessage(store: Store, messageId: string, via: string, now: number): Promise<string | null> {
  return store.transaction(async (tx) => {
    const message = await tx.messages.get(messageId);
    if (message === null) return null;
    // already unsubscribed by an explicit line (a click again, a mail scanner's POST): nothing more is
    // written; after a later opt-in, the link unsubscribes again (what the person asks for now)
    const answer = foldConsent(await tx.consent.of(message.contactId), NO_DEFAULTS).answer('email', 'marketing');
    if (answer.record !== null && !answer.allowed) return message.contactId;
    await tx.consent.append(
      message.contactId,
      {
        channel: 'email',
        purpose: 'marketing',
        status: 'revoked',
        source: 'unsubscribe',
        evidence: `${via} (message ${messageId})`,
        at: new Date(now).toISOString(),
      },
      now,
    );
    await tx.audit.record(`contact:${message.contactId}`, 'consent.unsubscribe', message.contactId, { channel: 'email', via }, now);
    return message.contactId;
  });
}
