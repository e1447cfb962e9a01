import { type CompiledRuleset, type Decision, decideParsed, type MessageRequest } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { StoredContact } from '../contacts/contact-repository.js';
import { type ContextReads, eventReach, loadContext } from '../contacts/context.js';
import type { ContentRenderer } from '../content/renderer.js';
import type { Logger } from '../logger.js';
import { addressFor } from './address.js';
import { ATTEMPT_WENT } from './attempt-status.js';
import { claimKey } from './claim-key.js';
import type { FollowUpStore, FollowUps } from './follow-ups.js';
import type { Go } from './unit.js';

export type GateStore = FollowUpStore & ContextReads;

/** What a provider is asked to send for a claimed plan step. */
export function goFor(
  provider: string,
  claim: string,
  messageId: string,
  step: Decision['plan'][number],
  to: string,
  template: string | null,
  request: MessageRequest,
  content: Go['content'] | null,
  about: { market?: string | undefined; sessionOpen?: boolean | undefined } = {},
): Go {
  const outbound: Go['outbound'] = {
    claim,
    messageId,
    channel: step.channel,
    to,
    content: step.content,
    template,
    variables: request.variables ?? {},
    estimatedCost: step.estimatedCost,
    ...(about.market !== undefined ? { market: about.market } : {}),
    ...(about.sessionOpen !== undefined ? { sessionOpen: about.sessionOpen } : {}),
  };
  if (content === null || content === undefined) return { provider, outbound };
  outbound.rendered = content.rendered;
  return { provider, outbound, content };
}

/**
 * What a provider is told of the contact beyond its address: its market, and on a channel with a
 * session window (WhatsApp) whether the contact wrote in it recently enough for a free-form message.
 */
export function aboutContact(
  rs: CompiledRuleset,
  channel: string,
  contact: StoredContact,
  now: number,
): { market?: string | undefined; sessionOpen?: boolean | undefined } {
  const hours = rs.source.channels[channel]?.sessionWindowHours;
  const last = contact.lastInbound?.[channel];
  return {
    market: contact.market,
    ...(hours === undefined ? {} : { sessionOpen: last !== undefined && now - Date.parse(last) < hours * 3_600_000 }),
  };
}

/**
 * The step's content rendered for the contact: null when the template has none; a refusal (with
 * its reason) when it cannot be rendered whole (a missing variable, no variant for the channel).
 */
export function contentFor(
  renderer: ContentRenderer,
  rs: CompiledRuleset,
  step: Decision['plan'][number],
  request: MessageRequest,
  contact: StoredContact,
): { ok: true; content: Go['content'] | null } | { ok: false; reason: string } {
  const r = renderer.forChannel(rs, step.channel, step.content, { request, contact });
  if (r === null) return { ok: true, content: null };
  if (!r.ok) return r;
  return { ok: true, content: { rendered: r.rendered, language: r.language } };
}

/**
 * The send gate: right before a provider call, the message is decided again on fresh state
 * (consent, suppression, the pressure budget, quiet hours): a STOP or a payment that arrived
 * meanwhile wins. Then (message, step) is claimed. Resumable: run again after a crash at any
 * point, it continues from the attempt's state.
 */
export class SendGate {
  constructor(
    private readonly d: {
      ruleset: () => CompiledRuleset;
      content: ContentRenderer;
      providers: ReadonlySet<string>;
      followUps: FollowUps;
      clock: Clock;
      log: Logger;
    },
  ) {}

  /**
   * Everything up to the claim, inside the caller's transaction. Returns what to send, or null when
   * the step is settled here (suppressed, skipped, deferred, already done, another worker has it).
   */
  async pass(store: GateStore, messageId: string, stepIndex: number): Promise<Go | null> {
    const message = await store.messages.get(messageId);
    if (message === null || ['cancelled', 'suppressed', 'review'].includes(message.status)) return null;
    const step = message.decision.plan[stepIndex];
    if (step === undefined) return null;
    const claim = claimKey(messageId, stepIndex);
    const existing = await store.attempts.byClaim(claim);
    if (existing !== null && ATTEMPT_WENT.includes(existing.status)) {
      await this.d.followUps.afterSent(store, messageId, stepIndex, existing.updatedAt);
      return null;
    }
    if (existing !== null && existing.status !== 'claimed') {
      await this.d.followUps.afterFailed(store, messageId, stepIndex);
      return null;
    }
    const request = message.request;
    // decided one at a time per contact, as requests are (PostgreSQL): a request deciding now for
    // this contact must not count this message as waiting while it passes here
    await store.contacts.lock(message.contactId);
    // the time of the decision once the contact is ours (what went while this waited counts)
    const now = this.d.clock.now().getTime();
    // the message's own earlier steps, and what was decided after it, do not count against its budget
    const rs = this.d.ruleset();
    const { contact, context } = await loadContext(store, message.contactId, now, eventReach(rs), {
      id: message.id,
      createdAt: message.createdAt,
      priority: message.request.priority,
    });
    // an approved review: the fresh decision says `review` again; the person's approval stands
    const fresh = decideParsed(request, context, rs, now, this.d.content.facts(rs, { request, contact }));
    if (fresh.outcome === 'suppress' && !fresh.reasons.some((r) => r.code === 'no_reachable_channel')) {
      await store.messages.recordDecision(messageId, fresh, now);
      await store.messages.transition(messageId, ['queued'], 'cancelled', now);
      await store.timers.cancelFor(messageId, now);
      this.d.log.info(
        {
          messageId,
          step: stepIndex,
          reasons: fresh.reasons.filter((r) => r.code === 'suppressed' || r.code === 'cap_exceeded').map((r) => r.rule ?? r.code),
        },
        'send gate: suppressed',
      );
      return null;
    }
    if (!fresh.plan.some((s) => s.channel === step.channel)) {
      // this channel may no longer carry it (consent revoked, cap): record the skip and move on
      const taken =
        existing?.claim ??
        (await store.attempts.claim({ messageId, step: stepIndex, channel: step.channel, provider: step.provider }, now));
      if (taken === null) return null;
      await store.messages.recordDecision(messageId, fresh, now);
      const why = fresh.reasons.find((r) => r.channel === step.channel);
      await store.attempts.update(taken, { status: 'skipped', error: why ? `${why.code}: ${why.message}` : 'not in the fresh plan' }, now, [
        'claimed',
      ]);
      this.d.log.info({ messageId, step: stepIndex, channel: step.channel, code: why?.code }, 'send gate: channel no longer allowed');
      await this.d.followUps.afterFailed(store, messageId, stepIndex);
      return null;
    }
    // queued without a review, it now needs one (the contact was flagged vulnerable meanwhile): it
    // waits for a person as a new request would, before anything of it went
    if (fresh.outcome === 'review' && message.decision.outcome !== 'review' && stepIndex === 0 && existing === null) {
      await store.messages.recordDecision(messageId, fresh, now);
      if (await store.messages.holdForReview(messageId, fresh, now)) await store.timers.cancelFor(messageId, now);
      this.d.log.info({ messageId, step: stepIndex }, 'send gate: held for review');
      return null;
    }
    // an approved review decides `review` again, with the time it may go: a person's approval is
    // no licence to wake the contact at 03:30
    const waits = fresh.outcome === 'defer' || fresh.outcome === 'review';
    if (waits && fresh.sendAt !== null && Date.parse(fresh.sendAt) > now && step.mode !== 'also') {
      // quiet hours (or a cap) moved it: try again then, and say why it waits
      const at = Date.parse(fresh.sendAt);
      await store.messages.recordDecision(messageId, fresh, now);
      await store.timers.schedule({ kind: 'step-retry', messageId, step: stepIndex, at }, at, now);
      return null;
    }
    const address = addressFor(rs, contact, step.channel);
    const taken =
      existing?.claim ?? (await store.attempts.claim({ messageId, step: stepIndex, channel: step.channel, provider: step.provider }, now));
    if (taken === null) return null; // another worker has just claimed it
    if (!this.d.providers.has(step.provider) || address === undefined) {
      await store.attempts.update(
        taken,
        { status: 'failed', error: this.d.providers.has(step.provider) ? 'no address' : `provider ${step.provider} is not configured` },
        now,
      );
      await this.d.followUps.afterFailed(store, messageId, stepIndex);
      return null;
    }
    const content = contentFor(this.d.content, rs, step, request, contact);
    if (!content.ok) {
      // never a message with a hole in it: the attempt is refused with the reason, the plan goes on
      await store.attempts.update(taken, { status: 'failed', error: `content refused: ${content.reason}` }, now);
      this.d.log.info({ messageId, step: stepIndex, channel: step.channel }, 'send gate: content refused');
      await this.d.followUps.afterFailed(store, messageId, stepIndex);
      return null;
    }
    return goFor(
      step.provider,
      taken,
      messageId,
      step,
      address,
      message.template,
      request,
      content.content,
      aboutContact(rs, step.channel, contact, now),
    );
  }
}
