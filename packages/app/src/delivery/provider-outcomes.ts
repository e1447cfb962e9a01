import type { CompiledRuleset, IdentityKind, OutboundMessage, ProviderOutcome, SendResult } from '@signalbox/engine';
import { addressFor } from './address.js';
import { ATTEMPT_FAILED, type AttemptStatus } from './attempt-status.js';
import type { GateStore } from './gate.js';

/**
 * What a provider's refusal means beyond the attempt (inside the transaction that records it):
 * an unsubscribed recipient revokes consent on that channel, for every purpose, as the provider
 * enforces it (Twilio 21610); an address that does not exist is marked unreachable, so decisions
 * stop using it (Twilio 21211/21614, an SMTP 5xx at RCPT TO). A template-required refusal
 * (WhatsApp outside its window) only fails the step: the plan's next step follows.
 */
export async function applyOutcome(
  store: GateStore,
  a: { messageId: string; outbound: OutboundMessage; provider: string; result: Extract<SendResult, { status: 'failed' }> },
  now: number,
  ruleset?: CompiledRuleset,
): Promise<void> {
  const outcome = a.result.outcome;
  if (outcome === undefined || outcome === 'template-required') return;
  const message = await store.messages.get(a.messageId);
  if (message === null) return;
  if (outcome === 'consent-revoked') {
    await store.consent.append(
      message.contactId,
      {
        channel: a.outbound.channel,
        purpose: '*',
        status: 'revoked',
        source: 'provider',
        evidence: `${a.provider}: ${a.result.error} (message ${a.messageId})`,
        at: new Date(now).toISOString(),
      },
      now,
    );
    return;
  }
  const channel = ruleset?.source.channels[a.outbound.channel];
  if (channel?.requires !== undefined) {
    // a channel that needs a capability of the handset (WhatsApp, Viber) says the number is not on
    // it: the capability goes, the number stays good for SMS and calls
    const capability = channel.requires;
    await store.contacts.updateData(message.contactId, now, (c) => ({ ...c, capabilities: { ...c.capabilities, [capability]: false } }));
    return;
  }
  const kind = channel?.address ?? (a.outbound.channel === 'email' ? 'email' : 'phone');
  await store.contacts.markUnreachable(kind as IdentityKind, a.outbound.to, `${a.provider}: ${a.result.error}`, now);
}

/**
 * An outcome a provider reported after the send (in a status callback) for the attempt it names:
 * applied to that attempt's contact on the attempt's channel. Nothing when the attempt is unknown,
 * or when it did not fail: a failure reported after the message was delivered or read is a late
 * receipt, ignored with everything it would have said about the recipient.
 */
export async function applyReportedOutcome(
  store: GateStore & {
    attempts: { byProviderId(p: string, id: string): Promise<{ messageId: string; channel: string; status: AttemptStatus } | null> };
  },
  ruleset: CompiledRuleset,
  r: { provider: string; providerMessageId: string; outcome: ProviderOutcome; error: string },
  now: number,
): Promise<void> {
  const attempt = await store.attempts.byProviderId(r.provider, r.providerMessageId);
  if (attempt === null || !ATTEMPT_FAILED.includes(attempt.status)) return;
  const message = await store.messages.get(attempt.messageId);
  const contact = message !== null ? await store.contacts.get(message.contactId) : null;
  const to = contact !== null ? addressFor(ruleset, contact, attempt.channel) : undefined;
  if (to === undefined) return;
  const outbound = { channel: attempt.channel, to } as OutboundMessage;
  await applyOutcome(
    store,
    {
      messageId: attempt.messageId,
      outbound,
      provider: r.provider,
      result: { status: 'failed', error: r.error, retryable: false, outcome: r.outcome },
    },
    now,
    ruleset,
  );
}
