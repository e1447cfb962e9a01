import {
  advance,
  type CompiledRuleset,
  type ConsentRecord,
  type CrmEvent,
  type Decision,
  type DecisionContext,
  decideParsed,
  eventsOfInterest,
  instanceKey,
  type JourneyCommand,
  type JourneyInput,
  type JourneyInstance,
  journeysTriggeredBy,
  localTime,
  type MessageRequest,
  mapEventType,
  type PlanStep,
  startJourney,
  trustedDecisionContext,
} from '@signalbox/engine';
import type { Clock } from '../clock.js';
import { uuidv7 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AttemptRow, InboxRow, Store, StoredContact, TimerRow } from '../store/store.js';
import type { ChannelProvider, InboundMessage, OutboundMessage, Receipt, SendResult } from './providers/provider.js';

const DAY = 86_400_000;

export interface RuntimeDeps {
  store: Store;
  ruleset: () => CompiledRuleset;
  providers: ReadonlyMap<string, ChannelProvider>;
  clock: Clock;
  log: Logger;
  workerId?: string;
  /** How long a worker's claim on an inbox row or timer lasts before another may retake it. */
  leaseMs?: number;
  /**
   * Inside a worker's unit of work: sends due now are scheduled already claimed and collected
   * here, and the worker fires them as soon as the unit commits (no wait for the next timer round).
   */
  collector?: Collected[];
}

/** A send due now, claimed inside a unit of work; `go` when the attempt is claimed too. */
/** A send claimed inside a transaction, to be made as soon as it commits. */
interface Collected {
  at: SendAt;
  go: { provider: string; outbound: OutboundMessage };
}

/** Which step of which message a send is; `plan`, when the caller has the message's decision at hand. */
interface SendAt {
  messageId: string;
  step: number;
  plan?: readonly PlanStep[];
}

/** An event as the API or a connector hands it over, before the contact is resolved. */
export interface IncomingEvent {
  id: string;
  source: CrmEvent['source'];
  type: string;
  occurredAt: string;
  contact?:
    | {
        id?: string | undefined;
        identities?: Array<{ kind: 'phone' | 'email' | 'hubspot' | 'salesforce' | 'whatsapp' | 'viber'; value: string }> | undefined;
      }
    | undefined;
  object?: { type: string; id: string } | undefined;
  data?: Record<string, unknown> | undefined;
}

export class NotFoundError extends Error {}

/**
 * SQLite calls are synchronous, so a batch of work would otherwise run as one chain of already-
 * resolved promises and keep HTTP requests (ingest, receipts) waiting until it ends.
 */
const isDelivery = (r: Receipt) => r.status === 'delivered' || r.status === 'read';

/** When the provider says a receipt happened (`now` if its time does not parse). */
const receiptTime = (r: Receipt, now: number): number => {
  const at = Date.parse(r.at);
  return Number.isFinite(at) ? at : now;
};
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a provider is asked to send for a claimed plan step. */
function outboundFor(
  claim: string,
  messageId: string,
  step: PlanStep,
  to: string,
  template: string | null,
  request: MessageRequest,
): OutboundMessage {
  return {
    claim,
    messageId,
    channel: step.channel,
    to,
    content: step.content,
    template,
    variables: request.variables ?? {},
    estimatedCost: step.estimatedCost,
  };
}

/** Receipts applied per commit (in order; the next chunk after the HTTP thread has breathed). */
const RECEIPTS_PER_COMMIT = 200;

/** Events applied per commit by a worker (each under its own savepoint). */
const EVENTS_PER_COMMIT = 50;

const MESSAGE_FINAL = ['cancelled', 'suppressed', 'failed', 'undelivered', 'expired', 'delivered', 'read'];

/**
 * Carries decisions out durably: messages and their plan steps, the send gate, receipts and
 * fallbacks, inbound keywords and replies, the inbox of events, and journeys. Every effect is
 * idempotent (message idempotency keys, unique timer keys, one claim per (message, step)), so a
 * crashed worker's work can be retaken without anything happening twice.
 */
export class Runtime {
  readonly workerId: string;
  private readonly leaseMs: number;
  constructor(private readonly d: RuntimeDeps) {
    this.workerId = d.workerId ?? `worker-${uuidv7()}`;
    this.leaseMs = d.leaseMs ?? 60_000;
  }

  get store(): Store {
    return this.d.store;
  }

  /**
   * Runs `fn` on a runtime whose store calls form one transaction: an event or a receipt is
   * applied whole or not at all, and with one commit instead of one per statement. Provider calls
   * never happen inside (they would hold the transaction open over the network).
   */
  private atomically<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
    return this.d.store.transaction((store) => fn(new Runtime({ ...this.d, store, workerId: this.workerId, leaseMs: this.leaseMs })));
  }

  /** As `atomically`, then makes the sends the unit claimed for now (see `requestMessage`). */
  private async atomicallyThenSend<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
    const collector: Collected[] = [];
    const r = await this.d.store.transaction((store) =>
      fn(new Runtime({ ...this.d, store, workerId: this.workerId, leaseMs: this.leaseMs, collector })),
    );
    // decided and claimed inside the transaction that just committed: that state is the fresh
    // state the send gate would read again, so the providers are called straight away (together:
    // a provider may batch them, the sandbox writes its log once), and their answers recorded
    // together in one more transaction
    const outcomes = await Promise.all(
      collector.map(async (c) => {
        try {
          const provider = this.d.providers.get(c.go.provider) as ChannelProvider;
          return { c, result: await provider.send(c.go.outbound) };
        } catch (err) {
          this.d.log.error({ err: (err as Error).message }, 'send failed; resumed in 30 s');
          await this.d.store.setAttemptLease(c.go.outbound.claim, this.now() + 30_000);
          return null;
        }
      }),
    );
    const answered = outcomes.filter((o): o is { c: Collected; result: SendResult } => o !== null);
    if (answered.length > 0) {
      try {
        await this.atomically(async (rt) => {
          for (const { c, result } of answered) await rt.record(c.at, c.go, result);
        });
      } catch (err) {
        // the claims stay; their leases run out and the gate finishes each send (same claim)
        this.d.log.error({ err: (err as Error).message }, 'recording sends failed; they are resumed when their leases end');
      }
    }
    return r;
  }

  private now(): number {
    return this.d.clock.now().getTime();
  }

  // ------------------------------------------------------------------ context

  async loadContext(
    contactId: string,
    now: number,
    excludeMessageId?: string,
  ): Promise<{ contact: StoredContact; context: DecisionContext }> {
    const contact = await this.d.store.getContact(contactId);
    if (contact === null) throw new NotFoundError(`contact ${contactId} not found`);
    const [consent, history, events] = await Promise.all([
      this.d.store.consentLedger(contact.id),
      this.d.store.sentHistory(contact.id, now - 8 * DAY, excludeMessageId),
      this.d.store.recentEvents(contact.id, now - 90 * DAY),
    ]);
    const { createdAt: _c, updatedAt: _u, ...plain } = contact;
    // the runtime's own records, validated when they came in: defaults filled, not checked again
    const context = trustedDecisionContext({ contact: plain, consent, history, events });
    return { contact, context };
  }

  // ------------------------------------------------------------------ messages

  /** Decides and records a message; schedules its first step. Idempotent on the request's key. */
  async requestMessage(
    contactId: string,
    request: MessageRequest,
    meta: { journeyInstanceId?: string | null } = {},
  ): Promise<{ messageId: string; decision: Decision; created: boolean; status: string }> {
    const now = this.now();
    const rs = this.d.ruleset();
    const { contact, context } = await this.loadContext(contactId, now);
    const decision = decideParsed(request, context, rs, now);
    const status = decision.outcome === 'suppress' ? 'suppressed' : decision.outcome === 'review' ? 'review' : 'queued';
    const { message, created } = await this.d.store.createMessage(
      {
        id: uuidv7(now),
        contactId: contact.id,
        idempotencyKey: request.idempotencyKey ?? null,
        journeyInstanceId: meta.journeyInstanceId ?? null,
        journeyId: request.journeyId ?? null,
        type: request.type,
        purpose: decision.purpose,
        team: request.team ?? null,
        workflow: request.workflow ?? null,
        template: request.template ?? null,
        status,
        outcome: decision.outcome,
        channel: null,
        cost: 0,
        request,
        decision,
      },
      now,
    );
    if (created && status === 'queued') {
      const first = decision.plan[0] as PlanStep;
      const dueAt = Date.parse(first.sendAt);
      // due now, inside a worker's transaction: claimed here and sent right after the commit, the
      // attempt's lease standing in for a timer row; anything else goes through a timer and the gate
      const go =
        this.d.collector !== undefined && dueAt <= now ? await this.claimNow(message.id, first, contact, request, message.template) : null;
      if (go !== null) this.d.collector?.push({ at: { messageId: message.id, step: 0, plan: decision.plan }, go });
      else
        await this.d.store.scheduleTimer(
          { key: `${message.id}:step:0`, kind: 'step', ref: message.id, dueAt, payload: { messageId: message.id, step: 0 } },
          now,
        );
    }
    return { messageId: message.id, decision: message.decision as Decision, created, status: message.status };
  }

  /**
   * A person's verdict on a message held for review: approved, it goes through its plan (the send
   * gate still re-checks consent, suppression and caps); rejected, it is cancelled. Audited.
   */
  async review(
    messageId: string,
    verdict: 'approve' | 'reject',
    actor: string,
    note?: string,
  ): Promise<'queued' | 'cancelled' | 'not-in-review'> {
    const now = this.now();
    const message = await this.d.store.getMessage(messageId);
    if (message === null) throw new NotFoundError(`message ${messageId} not found`);
    const to = verdict === 'approve' ? 'queued' : 'cancelled';
    if (!(await this.d.store.transitionMessage(messageId, ['review'], to, now))) return 'not-in-review';
    await this.d.store.audit(actor, `message.review.${verdict}`, messageId, { note: note ?? null }, now);
    if (verdict === 'approve') {
      await this.d.store.scheduleTimer(
        { key: `${messageId}:step:0`, kind: 'step', ref: messageId, dueAt: now, payload: { messageId, step: 0 } },
        now,
      );
    }
    return to;
  }

  /** Cancels a message that has not gone yet (and its pending steps); sent steps stand. */
  async cancelMessage(messageId: string, reason: string): Promise<boolean> {
    const now = this.now();
    const ok = await this.d.store.transitionMessage(messageId, ['queued', 'review'], 'cancelled', now);
    await this.d.store.cancelTimersByRef(messageId, now);
    if (ok) this.d.log.info({ messageId, reason }, 'message cancelled');
    return ok;
  }

  /**
   * The send gate and the provider call for one plan step. Re-decides on fresh state first
   * (consent, suppression, caps, quiet hours): a STOP or a payment that arrived meanwhile wins.
   * Resumable: run again after a crash at any point, it continues from the attempt's state
   * (the provider dedupes on the claim; every follow-up is scheduled under a unique key).
   */
  async sendStep(messageId: string, stepIndex: number): Promise<void> {
    // the gate and the claim commit together; the provider call happens outside any transaction
    const go = await this.atomically((rt) => rt.gate(messageId, stepIndex));
    if (go !== null) await this.deliver({ messageId, step: stepIndex }, go);
  }

  /**
   * The first step of a message decided in this very transaction: claims the attempt now (the
   * decision's state is the fresh state), leased, so the worker calls the provider right after
   * commit. Anything unusual (no provider, no address) is left to a timer and the full gate.
   */
  private async claimNow(
    messageId: string,
    step: PlanStep,
    contact: StoredContact,
    request: MessageRequest,
    template: string | null,
  ): Promise<{ provider: string; outbound: OutboundMessage } | null> {
    const address = this.addressFor(contact, step.channel);
    if (!this.d.providers.has(step.provider) || address === undefined || step.mode !== 'primary') return null;
    const now = this.now();
    const claim = await this.d.store.claimAttempt(
      { messageId, step: step.step, channel: step.channel, provider: step.provider },
      now,
      now + this.leaseMs,
    );
    if (claim === null) return null;
    return { provider: step.provider, outbound: outboundFor(claim, messageId, step, address, template, request) };
  }

  /** The contact's address on a channel (the identity kind the ruleset says the channel uses). */
  private addressFor(contact: StoredContact, channel: string): string | undefined {
    const kind = this.d.ruleset().source.channels[channel]?.address;
    return contact.identities.find((i) => i.kind === kind)?.value;
  }

  /** The provider call for a claimed attempt, then its outcome recorded in one transaction. */
  private async deliver(at: SendAt, go: { provider: string; outbound: OutboundMessage }): Promise<void> {
    const provider = this.d.providers.get(go.provider) as ChannelProvider;
    const result = await provider.send(go.outbound);
    await this.atomically((rt) => rt.record(at, go, result));
  }

  /** What the provider answered, recorded (call inside a transaction). */
  private async record(at: SendAt, go: { provider: string; outbound: OutboundMessage }, result: SendResult): Promise<void> {
    const { messageId, step: stepIndex } = at;
    const after = this.now();
    if (result.status === 'failed') {
      await this.d.store.updateAttempt(go.outbound.claim, { status: 'failed', error: result.error }, after, ['claimed']);
      await this.afterStepFailed(messageId, stepIndex);
      return;
    }
    if (
      await this.d.store.updateAttempt(
        go.outbound.claim,
        { status: 'sent', providerMessageId: result.providerMessageId, cost: result.cost },
        after,
        ['claimed'],
      )
    ) {
      await this.d.store.transitionMessage(messageId, ['queued', 'sent'], 'sent', after, {
        channel: go.outbound.channel,
        cost: result.cost,
      });
      // a receipt that beat this bookkeeping was parked: the side that comes second applies it
      await this.applyParked(go.provider, result.providerMessageId);
    }
    await this.afterStepSent(messageId, stepIndex, after, at.plan);
  }

  /**
   * Applies parked receipts whose send is known by now (both sides of the race can miss each other
   * when their transactions overlap on PostgreSQL), and drops those no send claimed within a week.
   */
  async sweepParkedReceipts(limit = 50): Promise<number> {
    const known = await this.d.store.parkedNowKnown(limit);
    for (const k of known) await this.atomically((rt) => rt.applyParked(k.provider, k.providerMessageId));
    await this.d.store.dropParkedBefore(this.now() - 7 * DAY);
    return known.length;
  }

  /**
   * The send gate for one step: everything up to the claim. Returns what to send, or null when the
   * step is settled here (suppressed, skipped, deferred, already done, another worker has it).
   */
  private async gate(messageId: string, stepIndex: number): Promise<{ provider: string; outbound: OutboundMessage } | null> {
    const now = this.now();
    const message = await this.d.store.getMessage(messageId);
    if (message === null || ['cancelled', 'suppressed', 'review'].includes(message.status)) return null;
    const decision = message.decision as Decision;
    const step = decision.plan[stepIndex];
    // an approved review: the fresh decision says `review` again; the person's approval stands
    if (step === undefined) return null;
    const existing = await this.d.store.getAttemptByClaim(`${messageId}:${stepIndex}`);
    if (existing !== null && ['sent', 'delivered', 'read'].includes(existing.status)) {
      await this.afterStepSent(messageId, stepIndex, existing.updatedAt);
      return null;
    }
    if (existing !== null && existing.status !== 'claimed') {
      await this.afterStepFailed(messageId, stepIndex);
      return null;
    }
    const request = message.request as MessageRequest;
    // the message's own earlier steps do not count against its budget
    const { contact, context } = await this.loadContext(message.contactId, now, messageId);
    const fresh = decideParsed(request, context, this.d.ruleset(), now);
    if (fresh.outcome === 'suppress' && !fresh.reasons.some((r) => r.code === 'no_reachable_channel')) {
      await this.d.store.transitionMessage(messageId, ['queued'], 'cancelled', now);
      await this.d.store.cancelTimersByRef(messageId, now);
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
      const claim =
        existing?.claim ??
        (await this.d.store.claimAttempt({ messageId, step: stepIndex, channel: step.channel, provider: step.provider }, now));
      if (claim === null) return null;
      const why = fresh.reasons.find((r) => r.channel === step.channel);
      await this.d.store.updateAttempt(
        claim,
        { status: 'skipped', error: why ? `${why.code}: ${why.message}` : 'not in the fresh plan' },
        now,
        ['claimed'],
      );
      this.d.log.info({ messageId, step: stepIndex, channel: step.channel, code: why?.code }, 'send gate: channel no longer allowed');
      await this.afterStepFailed(messageId, stepIndex);
      return null;
    }
    if (fresh.outcome === 'defer' && fresh.sendAt !== null && Date.parse(fresh.sendAt) > now && step.mode !== 'also') {
      // quiet hours (or a cap) moved it: try again then
      const at = Date.parse(fresh.sendAt);
      await this.d.store.scheduleTimer(
        {
          key: `${messageId}:step:${stepIndex}:at:${at}`,
          kind: 'step',
          ref: messageId,
          dueAt: at,
          payload: { messageId, step: stepIndex },
        },
        now,
      );
      return null;
    }
    const provider = this.d.providers.get(step.provider);
    const address = this.addressFor(contact, step.channel);
    const claim =
      existing?.claim ??
      (await this.d.store.claimAttempt({ messageId, step: stepIndex, channel: step.channel, provider: step.provider }, now));
    if (claim === null) return null; // another worker has just claimed it
    if (provider === undefined || address === undefined) {
      await this.d.store.updateAttempt(
        claim,
        { status: 'failed', error: provider ? 'no address' : `provider ${step.provider} is not configured` },
        now,
      );
      await this.afterStepFailed(messageId, stepIndex);
      return null;
    }
    return { provider: step.provider, outbound: outboundFor(claim, messageId, step, address, message.template, request) };
  }

  /**
   * Follow-ups and the delivery timeout of a step that went (idempotent: unique timer keys). A
   * message's plan never changes once decided; the caller may pass it instead of having it read.
   */
  private async afterStepSent(messageId: string, stepIndex: number, sentAt: number, known?: readonly PlanStep[]): Promise<void> {
    let plan = known;
    if (plan === undefined) {
      const message = await this.d.store.getMessage(messageId);
      if (message === null) return;
      plan = (message.decision as Decision).plan;
    }
    const step = plan[stepIndex] as PlanStep;
    const now = this.now();
    for (const s of plan) {
      if (s.mode === 'also' && s.after === stepIndex) {
        await this.d.store.scheduleTimer(
          {
            key: `${messageId}:step:${s.step}`,
            kind: 'step',
            ref: messageId,
            dueAt: sentAt + s.delayMinutes * 60_000,
            payload: { messageId, step: s.step },
          },
          now,
        );
      }
    }
    const next = plan.find((s) => s.mode === 'fallback' && s.after === stepIndex);
    if (next !== undefined && step.timeoutMinutes !== null) {
      await this.d.store.scheduleTimer(
        {
          key: `${messageId}:timeout:${stepIndex}`,
          kind: 'timeout',
          ref: messageId,
          dueAt: sentAt + step.timeoutMinutes * 60_000,
          payload: { messageId, step: stepIndex },
        },
        now,
      );
    }
  }

  /**
   * The step failed, was undelivered, timed out, or may not be used: fire its fallback, once.
   * The fallback is scheduled before the step's timeout timer is cancelled: this may run from that
   * very timer, and a crash in between must leave something that will still fire.
   */
  private async afterStepFailed(messageId: string, stepIndex: number): Promise<void> {
    const now = this.now();
    const message = await this.d.store.getMessage(messageId);
    if (message === null) return;
    const decision = message.decision as Decision;
    const next = decision.plan.find((s) => s.mode === 'fallback' && s.after === stepIndex);
    if (next !== undefined) {
      // schedule instead of calling: the step timer is the unit of durable, claimed work
      await this.d.store.scheduleTimer(
        { key: `${messageId}:step:${next.step}`, kind: 'step', ref: messageId, dueAt: now, payload: { messageId, step: next.step } },
        now,
      );
    } else {
      const attempts = await this.d.store.attemptsForMessage(messageId);
      const anyOk = attempts.some((a) => ['sent', 'delivered', 'read'].includes(a.status));
      if (!anyOk) await this.d.store.transitionMessage(messageId, ['queued', 'sent'], 'failed', now);
    }
    await this.d.store.cancelTimersByKey([`${messageId}:timeout:${stepIndex}`], now);
  }

  /**
   * A batch of delivery receipts from one provider, applied in order. Late receipts are recorded;
   * nothing fires twice. A receipt that beats the send's own bookkeeping is parked and applied as
   * soon as the send records the id.
   */
  async receipts(providerName: string, list: readonly Receipt[]): Promise<Array<'applied' | 'parked'>> {
    // a few per transaction: SQLite has one writer, and a long batch would hold the worker back
    // (the transaction ends early when the worker is waiting for the lock)
    const out: Array<'applied' | 'parked'> = [];
    while (out.length < list.length) {
      if (out.length > 0) await yieldToIo();
      const start = out.length;
      const done = await this.atomically(async (rt) => {
        const applied: Array<'applied' | 'parked'> = [];
        let i = start;
        while (i < list.length && applied.length < RECEIPTS_PER_COMMIT) {
          if (applied.length > 0 && rt.d.store.othersWaitingToWrite()) break;
          const r = list[i] as Receipt;
          // a message's delivered and read that come in one batch (as bulk gateways and the
          // sandbox report them) are applied together: one attempt, message and contact update
          let j = i + 1;
          while (j < list.length && isDelivery(r) && isDelivery(list[j] as Receipt) && list[j]?.providerMessageId === r.providerMessageId)
            j++;
          const attempt = j - i > 1 ? await rt.d.store.findAttemptByProviderId(providerName, r.providerMessageId) : null;
          if (attempt !== null) {
            await rt.applyDeliveries(attempt, list.slice(i, j));
            for (let k = i; k < j; k++) applied.push('applied');
          } else {
            for (let k = i; k < j; k++) applied.push(await rt.receiptNow(providerName, list[k] as Receipt));
          }
          i = j;
        }
        return applied;
      });
      out.push(...done);
    }
    return out;
  }

  private async receiptNow(providerName: string, r: Receipt): Promise<'applied' | 'parked'> {
    const attempt = await this.d.store.findAttemptByProviderId(providerName, r.providerMessageId);
    if (attempt !== null) {
      await this.applyReceipt(providerName, attempt, r);
      return 'applied';
    }
    await this.d.store.parkReceipt(providerName, r, this.now());
    // the send may have recorded the id meanwhile: whoever takes the parked row applies it
    if ((await this.d.store.findAttemptByProviderId(providerName, r.providerMessageId)) !== null)
      await this.applyParked(providerName, r.providerMessageId);
    return 'parked';
  }

  private async applyParked(providerName: string, providerMessageId: string): Promise<void> {
    const parked = await this.d.store.takeParkedReceipts(providerName, providerMessageId);
    for (const p of parked) {
      const attempt = await this.d.store.findAttemptByProviderId(providerName, providerMessageId);
      if (attempt !== null) await this.applyReceipt(providerName, attempt, p as Receipt);
    }
  }

  private async applyReceipt(_providerName: string, attempt: AttemptRow, r: Receipt): Promise<void> {
    if (isDelivery(r)) {
      await this.applyDeliveries(attempt, [r]);
      return;
    }
    const now = this.now();
    // the same receipt again (a provider's retry): what it did was done with it, in one transaction
    if (!(await this.d.store.addReceipt(attempt.id, r.status, receiptTime(r, now), r))) return;
    await this.d.store.updateAttempt(attempt.claim, { status: r.status }, now, ['claimed', 'sent']);
    // a redelivered receipt after a crash still leads to the fallback (afterStepFailed is idempotent);
    // a failure receipt after delivery changes nothing
    const current = await this.d.store.getAttemptByClaim(attempt.claim);
    if (current !== null && ['failed', 'undelivered', 'expired'].includes(current.status))
      await this.afterStepFailed(attempt.messageId, attempt.step);
  }

  /**
   * Delivered and read receipts of one attempt, in the order they came: each is recorded; the
   * attempt and the message move to the furthest status (never back), the delivery timeout is
   * cancelled, and the contact's engagement counts each receipt. The same as applying them one
   * by one, with one update of each record instead of one per receipt.
   */
  private async applyDeliveries(attempt: AttemptRow, list: readonly Receipt[]): Promise<void> {
    const now = this.now();
    const seen: Array<{ status: 'delivered' | 'read'; at: number }> = [];
    for (const r of list) {
      const at = receiptTime(r, now);
      // the same receipt again (a provider's retry) is neither logged nor counted a second time
      if (await this.d.store.addReceipt(attempt.id, r.status, at, r)) seen.push({ status: r.status as 'delivered' | 'read', at });
    }
    if (seen.length === 0) return;
    const status = seen.some((s) => s.status === 'read') ? 'read' : 'delivered';
    const order = ['claimed', 'sent', 'delivered', 'read'];
    await this.d.store.updateAttempt(attempt.claim, { status }, now, order.slice(0, order.indexOf(status)));
    await this.d.store.transitionMessage(
      attempt.messageId,
      status === 'read' ? ['queued', 'sent', 'delivered'] : ['queued', 'sent'],
      status,
      now,
    );
    await this.d.store.cancelTimersByKey([`${attempt.messageId}:timeout:${attempt.step}`], now);
    await this.recordEngagement(attempt.messageId, attempt.channel, seen);
  }

  private async recordEngagement(
    messageId: string,
    channel: string,
    receipts: ReadonlyArray<{ status: 'delivered' | 'read'; at: number }>,
  ): Promise<void> {
    const contactId = await this.d.store.messageContactId(messageId);
    if (contactId === null) return;
    await this.d.store.updateContactData(contactId, this.now(), (c) => {
      let out = c;
      for (const { status, at } of receipts) {
        const e = out.engagement?.[channel] ?? { sent: 0, delivered: 0, read: 0, replied: 0 };
        const next = {
          ...e,
          sent: status === 'delivered' ? e.sent + 1 : e.sent,
          delivered: e.delivered + (status === 'delivered' ? 1 : 0),
          read: e.read + (status === 'read' ? 1 : 0),
        };
        out = { ...out, engagement: { ...(out.engagement ?? {}), [channel]: next } };
        if (status === 'read') {
          const zone = out.timezone ?? (out.market ? this.d.ruleset().source.markets[out.market]?.timezone : undefined) ?? 'UTC';
          const hours = [...(out.readHours ?? new Array<number>(24).fill(0))];
          const h = localTime(at, zone).hour;
          hours[h] = (hours[h] ?? 0) + 1;
          out = { ...out, readHours: hours };
        }
      }
      return out;
    });
  }

  // ------------------------------------------------------------------ inbound and consent

  /** Writes a consent line (API, agent, keyword) to the ledger. */
  async writeConsent(contactId: string, record: ConsentRecord): Promise<void> {
    await this.d.store.appendConsent(contactId, record, this.now());
  }

  /**
   * An inbound message: records the session window, applies consent keywords as the ruleset
   * says (the confirmation reply goes out once), and turns replies into events for journeys.
   */
  inbound(providerName: string, m: InboundMessage): Promise<{ contactId: string | null; keyword: string | null; event: string | null }> {
    return this.atomically((rt) => rt.inboundNow(providerName, m));
  }

  private async inboundNow(
    providerName: string,
    m: InboundMessage,
  ): Promise<{ contactId: string | null; keyword: string | null; event: string | null }> {
    const now = this.now();
    const rs = this.d.ruleset();
    const kind = rs.source.channels[m.channel]?.address ?? 'phone';
    const contact = await this.d.store.findContactByIdentity(kind, m.from);
    if (contact === null) {
      this.d.log.info({ provider: providerName, channel: m.channel }, 'inbound from an unknown address ignored');
      return { contactId: null, keyword: null, event: null };
    }
    const at = Number.isFinite(Date.parse(m.at)) ? m.at : new Date(now).toISOString();
    await this.d.store.updateContactData(contact.id, now, (c) => ({ ...c, lastInbound: { ...(c.lastInbound ?? {}), [m.channel]: at } }));
    const text = (m.text ?? '').trim().toUpperCase().replace(/\s+/g, ' ');
    const kw = rs.source.consent.keywords;
    const is = (words: readonly string[]) => words.some((w) => w.toUpperCase() === text);
    let keyword: string | null = null;
    if (is(kw.stopAll.words) || is(kw.stop.words) || is(kw.start.words)) {
      const action = is(kw.stopAll.words) ? kw.stopAll : is(kw.stop.words) ? kw.stop : kw.start;
      keyword = action === kw.start ? 'start' : action === kw.stopAll ? 'stopAll' : 'stop';
      for (const purpose of action.purposes) {
        await this.d.store.appendConsent(
          contact.id,
          {
            channel: action.scope === 'all' ? '*' : m.channel,
            purpose,
            status: keyword === 'start' ? 'granted' : 'revoked',
            source: 'keyword',
            evidence: `${m.channel} "${text}" (${m.id})`,
            at,
          },
          now,
        );
      }
      await this.d.store.audit(
        `contact:${contact.id}`,
        `consent.${keyword}`,
        contact.id,
        { channel: m.channel, purposes: action.purposes, scope: action.scope },
        now,
      );
      await this.confirmKeyword(contact.id, m, keyword);
    } else if (is(kw.help.words)) {
      keyword = 'help';
      await this.confirmKeyword(contact.id, m, 'help');
    }
    // replies (buttons, confirm/reschedule words) become events that move journeys on
    const mapped = mapEventType(rs.source.eventMap, 'provider', { keyword: text, payload: m.payload?.toUpperCase(), channel: m.channel });
    const type = mapped ?? (keyword === null ? 'reply.received' : null);
    if (type !== null) {
      await this.ingestEvent({
        id: `inbound:${providerName}:${m.id}`,
        source: 'provider',
        type,
        occurredAt: at,
        contact: { id: contact.id },
        data: { channel: m.channel, keyword: text || null, payload: m.payload ?? null },
      });
    }
    return { contactId: contact.id, keyword, event: type };
  }

  private async confirmKeyword(contactId: string, m: InboundMessage, keyword: string): Promise<void> {
    // the confirmation is transactional, on the channel the keyword came from, once per inbound message
    await this.requestMessage(contactId, {
      idempotencyKey: `keyword-reply:${m.channel}:${m.id}`,
      type: 'transactional',
      purpose: 'transactional',
      template: `keyword_${keyword}_confirmation`,
      workflow: 'consent-keywords',
      priority: 'normal',
    });
  }

  // ------------------------------------------------------------------ events and journeys

  /** Stores an event durably (unique on source + id); workers apply it afterwards. */
  async ingestEvent(e: IncomingEvent): Promise<{ inboxId: string; duplicate: boolean }> {
    const r = await this.d.store.acceptInbox({ source: e.source, eventId: e.id, type: e.type, payload: e }, this.now());
    return { inboxId: r.id, duplicate: r.duplicate };
  }

  /**
   * Applies the next inbox events (≤ `limit`) in one transaction: taken, applied, marked finished
   * and committed together (a commit writes every page its events touched: shared pages once), each
   * event under its own savepoint so one failing event takes only itself back and is deferred.
   * Returns how many were taken.
   */
  async processInbox(limit = EVENTS_PER_COMMIT): Promise<number> {
    if (!(await this.d.store.inboxHasWork(this.now()))) return 0;
    await yieldToIo();
    let rows: InboxRow[] = [];
    try {
      await this.atomicallyThenSend(async (rt) => {
        rows = await rt.d.store.takeInbox(this.now(), limit);
        for (const row of rows) {
          const mark = rt.d.collector?.length ?? 0;
          await rt.d.store.savepoint('event');
          try {
            await rt.applyEvent(row.payload as IncomingEvent);
            await rt.d.store.finishInbox(row.id, this.now());
            await rt.d.store.releaseSavepoint('event');
          } catch (err) {
            await rt.d.store.rollbackToSavepoint('event');
            rt.d.collector?.splice(mark);
            await rt.eventFailed(row, err);
          }
        }
      });
    } catch (err) {
      // the commit itself failed: nothing of the group happened; each event counts a failed try
      for (const row of rows) await this.eventFailed(row, err).catch(() => undefined);
    }
    return rows.length;
  }

  /** A failed event is retried with backoff (1, 2, 4, 8 s), then dropped with its error kept. */
  private async eventFailed(row: InboxRow, err: unknown): Promise<void> {
    const message = (err as Error).message;
    const tries = row.attempts + 1;
    if (err instanceof NotFoundError || tries >= 5) {
      await this.d.store.inboxFailed(row.id, message, { droppedAt: this.now() });
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message }, 'event dropped after failing');
    } else {
      const retryAt = this.now() + 1000 * 2 ** (tries - 1);
      await this.d.store.inboxFailed(row.id, message, { retryAt });
      this.d.log.warn({ inboxId: row.id, type: row.type, err: message, retryAt }, 'event failed; will retry');
    }
  }

  private async resolveContact(e: IncomingEvent): Promise<string> {
    if (e.contact?.id !== undefined) {
      const id = await this.d.store.currentContactId(e.contact.id);
      if (id !== null) return id;
    }
    if (e.contact?.identities !== undefined && e.contact.identities.length > 0) {
      const r = await this.d.store.upsertContact({ identities: e.contact.identities }, this.now());
      return r.contact.id;
    }
    throw new NotFoundError(`event ${e.id}: contact not found`);
  }

  private async applyEvent(e: IncomingEvent): Promise<void> {
    const rs = this.d.ruleset();
    const contactId = await this.resolveContact(e);
    const at = Date.parse(e.occurredAt);
    await this.d.store.recordContactEvent(contactId, { id: `${e.source}:${e.id}`, type: e.type, at, object: e.object, data: e.data ?? {} });
    const event = { id: `${e.source}:${e.id}`, type: e.type, occurredAt: e.occurredAt, data: e.data ?? {}, contactId, object: e.object };
    // running instances of this contact (replies carry no CRM object) and of this object
    // (only when some journey reacts to this type at all: most events only start journeys)
    const interested = new Set(rs.source.journeys.filter((j) => eventsOfInterest(j).has(e.type)).map((j) => j.id));
    const seen = new Set<string>();
    const running =
      interested.size === 0
        ? []
        : [
            ...(await this.d.store.activeInstancesFor({ contactId })),
            ...(e.object ? await this.d.store.activeInstancesFor({ key: `object:${e.object.type}:${e.object.id}` }) : []),
          ];
    for (const inst of running) {
      if (seen.has(inst.id)) continue;
      seen.add(inst.id);
      if (!interested.has(inst.journeyId)) continue;
      await this.advanceInstance(inst.id, { kind: 'event', event });
    }
    // journeys this event starts
    for (const j of journeysTriggeredBy(rs, event)) {
      const key = instanceKey(j, event);
      if (key === null) continue;
      const id = uuidv7(this.now());
      const { instance, commands } = startJourney(j.id, event, id, rs, this.now());
      const created = await this.d.store.createJourneyInstance({ id, journeyId: j.id, key, contactId, state: instance }, this.now());
      if (!created) continue; // one active instance per key
      await this.execute(instance, commands);
    }
  }

  /** Advances a stored instance with optimistic concurrency; commands run before the save (all idempotent). */
  async advanceInstance(instanceId: string, input: JourneyInput): Promise<void> {
    for (let tries = 0; tries < 5; tries++) {
      const stored = await this.d.store.getJourneyInstance(instanceId);
      if (stored === null || stored.status !== 'active') return;
      const { instance, commands } = advance(stored.state as JourneyInstance, input, this.now(), this.d.ruleset());
      if (commands.length === 0 && instance === stored.state) return;
      await this.execute(instance, commands);
      if (await this.d.store.saveJourneyInstance(instanceId, stored.version, instance.status, instance, this.now())) return;
    }
    throw new Error(`journey instance ${instanceId} kept changing underneath`);
  }

  private async execute(instance: JourneyInstance, commands: JourneyCommand[]): Promise<void> {
    const now = this.now();
    for (const c of commands) {
      switch (c.type) {
        case 'send':
          await this.requestMessage(instance.contactId, c.request, { journeyInstanceId: instance.id });
          break;
        case 'schedule':
          await this.d.store.scheduleTimer(
            {
              key: `journey:${c.timerId}`,
              kind: 'journey',
              ref: instance.id,
              dueAt: Date.parse(c.dueAt),
              payload: { instanceId: instance.id, timerId: c.timerId },
            },
            now,
          );
          break;
        case 'cancel':
          await this.d.store.cancelTimersByKey(
            c.timerIds.map((t) => `journey:${t}`),
            now,
          );
          if (c.messages === 'all-unsent') {
            for (const m of await this.d.store.messagesForJourneyInstance(instance.id)) {
              // queued messages go; a sent message's pending fallbacks go too
              if (m.status === 'queued' || m.status === 'review') await this.cancelMessage(m.id, c.reason);
              else if (!MESSAGE_FINAL.includes(m.status)) await this.d.store.cancelTimersByRef(m.id, now);
            }
          }
          break;
        case 'complete':
          await this.d.store.audit(
            'journeys',
            'journey.complete',
            instance.id,
            { journeyId: instance.journeyId, outcome: c.outcome, goalReached: c.goalReached },
            now,
          );
          break;
      }
    }
  }

  // ------------------------------------------------------------------ timers

  async fireTimer(t: TimerRow): Promise<void> {
    const p = t.payload as { messageId?: string; step?: number; instanceId?: string; timerId?: string };
    switch (t.kind) {
      case 'step':
        await this.sendStep(p.messageId as string, p.step as number);
        break;
      case 'timeout': {
        const attempts = await this.d.store.attemptsForMessage(p.messageId as string);
        const a = attempts.find((x) => x.step === p.step);
        if (a === undefined) break;
        if (a.status === 'sent') await this.d.store.updateAttempt(a.claim, { status: 'expired' }, this.now(), ['sent']);
        // resumable: a crash after marking it expired still leads to the fallback
        const now = await this.d.store.getAttemptByClaim(a.claim);
        if (now !== null && ['expired', 'failed', 'undelivered', 'skipped'].includes(now.status))
          await this.afterStepFailed(p.messageId as string, p.step as number);
        break;
      }
      case 'journey':
        await this.advanceInstance(p.instanceId as string, { kind: 'timer', timerId: p.timerId as string });
        break;
      default:
        this.d.log.warn({ kind: t.kind }, 'unknown timer kind');
    }
  }

  /** Claims and fires due timers. Returns how many fired. */
  async runDueTimers(limit = 100): Promise<number> {
    const due = await this.d.store.claimDueTimers(this.workerId, this.now(), this.leaseMs, limit);
    let fired = 0;
    for (const t of due) {
      await yieldToIo();
      if (await this.fireClaimed(t)) fired++;
    }
    return fired;
  }

  /**
   * Resumes sends claimed without a timer whose lease ran out still claimed (the worker died
   * between its commit and the provider's answer, or the call failed): the gate runs again on
   * fresh state and sends under the same claim (the provider dedupes). Returns how many.
   */
  async resumeStalledSends(limit = 50): Promise<number> {
    const stalled = await this.d.store.takeStalledAttempts(this.now(), this.leaseMs, limit);
    for (const s of stalled) {
      await yieldToIo();
      try {
        await this.sendStep(s.messageId, s.step);
        // settled either way (sent, or the gate decided otherwise and left the claim unused)
        await this.d.store.setAttemptLease(s.claim, null);
      } catch (err) {
        this.d.log.error({ err: (err as Error).message }, 'resuming a send failed; retrying in 30 s');
        await this.d.store.setAttemptLease(s.claim, this.now() + 30_000);
      }
    }
    return stalled.length;
  }

  /** Fires a timer this worker has claimed and marks it fired; on failure, releases it for 30 s. */
  private async fireClaimed(t: TimerRow): Promise<boolean> {
    try {
      if (t.kind === 'step') {
        // a provider call: never inside a transaction (every step of sendStep is resumable)
        await this.fireTimer(t);
        return await this.d.store.completeTimer(t.id, this.workerId, this.now());
      }
      return await this.atomicallyThenSend(async (rt) => {
        await rt.fireTimer(t);
        return rt.d.store.completeTimer(t.id, this.workerId, this.now());
      });
    } catch (err) {
      this.d.log.error({ err: (err as Error).message, timer: t.kind }, 'timer failed; retrying in 30 s');
      await this.d.store.releaseTimer(t.id, this.workerId, this.now() + 30_000);
      return false;
    }
  }

  /** Processes the inbox and due timers until nothing is left (tests and the worker loop). */
  async runUntilIdle(maxRounds = 50): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      const n =
        (await this.processInbox()) + (await this.runDueTimers()) + (await this.resumeStalledSends()) + (await this.sweepParkedReceipts());
      if (n === 0) return;
    }
  }
}
