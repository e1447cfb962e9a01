import type { Context } from '@opentelemetry/api';
import type { ChannelProvider, CompiledRuleset, MessageRequest, PlanStep, SendResult } from '@signalbox/engine';
import type { Clock } from '../clock.js';
import type { StoredContact } from '../contacts/contact-repository.js';
import type { ContentRenderer } from '../content/renderer.js';
import type { Logger } from '../logger.js';
import { currentContext, inSpan } from '../tracing/tracing.js';
import { addressFor } from './address.js';
import type { AttemptClaim } from './attempt-claims.js';
import { type FollowUps, followUpTimers } from './follow-ups.js';
import { aboutContact, contentFor, type GateStore, goFor, type SendGate } from './gate.js';
import { applyOutcome } from './provider-outcomes.js';
import { type ReceiptStore, type Receipts, yieldToIo } from './receipts.js';
import type { SendRecorded, SentSend } from './sends-recorded.js';
import { type ClaimedSend, type Go, toldAfterCommit, type Unit } from './unit.js';

/** What the sender needs of the store: the gate's reads and writes, receipts', and transactions. */
export interface SendStore extends GateStore, ReceiptStore {
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
  /** Sends recorded as sent with their messages, atomically (see `Store.sendsRecorded`). */
  sendsRecorded(list: readonly SentSend[], now: number): Promise<SendRecorded[]>;
}

/** A message's first step to claim in the unit that decides it (`Sender.firstClaim`). */
export interface FirstClaim {
  attempt: AttemptClaim;
  lease: { until: number; owner: string };
  /** The send, once claimed under `claim`. */
  send(claim: string): ClaimedSend;
}

/** A failed provider call is tried again after this long (its claim, and so the provider's idempotency key, stays). */
const RETRY_MS = 30_000;
/**
 * Stalled sends a round resumes, side by side: the round waits for about one provider call, not
 * one per send, and every one of them is answered well within the lease it was taken with (one
 * after another, the last of fifty slow calls outlived its lease and was taken and sent again).
 */
const STALLED_PER_ROUND = 8;

/**
 * Calls providers for claimed plan steps and records what they answer. The provider call never
 * happens inside a transaction (it would hold one open over the network): a unit of work claims,
 * commits, then the sender calls, then records in a transaction of its own. A send whose worker
 * died in between is found by its lease and resumed through the gate under the same claim (the
 * provider dedupes on it).
 */
export class Sender<S extends SendStore = SendStore> {
  constructor(
    private readonly d: {
      store: S;
      providers: ReadonlyMap<string, ChannelProvider>;
      gate: SendGate;
      followUps: FollowUps;
      receipts: Receipts;
      ruleset: () => CompiledRuleset;
      content: ContentRenderer;
      clock: Clock;
      log: Logger;
      /** How long a claim lasts, and whose it is. */
      lease: { ms: number; owner: string };
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /** A unit of work that sends nothing on commit (a send due now goes through a timer). */
  async unit<T>(fn: (u: Unit<S>) => Promise<T>): Promise<T> {
    const told: Array<() => void> = [];
    const r = await this.d.store.transaction((store) => fn({ store, sends: null, told }));
    toldAfterCommit(told);
    return r;
  }

  /**
   * A unit of work whose sends due now are claimed inside it and made as soon as it commits: the
   * state it decided on is the fresh state the send gate would read again, so the providers are
   * called straight away (together: a provider may batch them), and their answers recorded
   * together in one more transaction.
   */
  async unitThenSend<T>(fn: (u: Unit<S>) => Promise<T>): Promise<T> {
    const sends: ClaimedSend[] = [];
    const told: Array<() => void> = [];
    const r = await this.d.store.transaction((store) => fn({ store, sends, told }));
    toldAfterCommit(told);
    if (sends.length === 0) return r;
    const outcomes = await Promise.all(
      sends.map(async (s) => {
        try {
          return { s, result: await this.call(s.go, s.trace) };
        } catch (err) {
          this.d.log.error({ err: (err as Error).message }, 'send failed; resumed in 30 s');
          await this.d.store.attempts.setLease(s.go.outbound.claim, this.now() + RETRY_MS);
          return null;
        }
      }),
    );
    const answered = outcomes.filter((o): o is { s: ClaimedSend; result: SendResult } => o !== null);
    if (answered.length > 0) {
      try {
        await this.recordAnswers(answered);
      } catch (err) {
        // the claims stay; their leases run out and the gate finishes each send (same claim)
        this.d.log.error({ err: (err as Error).message }, 'recording sends failed; they are resumed when their leases end');
      }
    }
    return r;
  }

  /**
   * The first step of a message decided in this very unit, to be claimed as the message is
   * recorded (`attempts.claimWithMessage`: the decision's state is the fresh state), leased, so
   * the worker calls the provider right after the commit (`claimed`). Worked out without a
   * statement. Null when it is left to a timer and the gate: no provider, no address, content that
   * cannot be rendered, not a primary step, or a unit that does not send on commit.
   */
  firstClaim(
    u: Unit<SendStore>,
    message: { id: string; template: string | null; plan: readonly PlanStep[] },
    contact: StoredContact,
    request: MessageRequest,
  ): FirstClaim | null {
    const step = message.plan[0] as PlanStep;
    if (u.sends === null || step.mode !== 'primary' || !this.d.providers.has(step.provider)) return null;
    const rs = this.d.ruleset();
    const address = addressFor(rs, contact, step.channel);
    if (address === undefined) return null;
    // content that cannot be rendered goes through the gate, which refuses the attempt with the reason
    const content = contentFor(this.d.content, rs, step, request, contact);
    if (!content.ok) return null;
    const now = this.now();
    return {
      attempt: { messageId: message.id, step: step.step, channel: step.channel, provider: step.provider },
      lease: { until: now + this.d.lease.ms, owner: this.d.lease.owner },
      send: (claim) => ({
        messageId: message.id,
        step: 0,
        plan: message.plan,
        go: goFor(
          step.provider,
          claim,
          message.id,
          step,
          address,
          message.template,
          request,
          content.content,
          aboutContact(rs, step.channel, contact, now),
        ),
        trace: currentContext(),
      }),
    };
  }

  /** A first step claimed (`firstClaim`): called right after the unit commits. Returns the send. */
  claimed(u: Unit<SendStore>, first: FirstClaim, claim: string): ClaimedSend {
    const send = first.send(claim);
    u.sends?.push(send);
    return send;
  }

  /** The send gate and the provider call for one plan step (a step timer fired). */
  async sendStep(messageId: string, step: number): Promise<void> {
    const go = await this.d.store.transaction((tx) => this.d.gate.pass(tx, messageId, step));
    if (go === null) return;
    const result = await this.call(go);
    await this.d.store.transaction((tx) => this.record(tx, { messageId, step, go }, result));
  }

  /** The provider call (in a span of the event's trace when it has one). */
  private call(go: Go, trace?: Context): Promise<SendResult> {
    const provider = this.d.providers.get(go.provider) as ChannelProvider;
    return inSpan('provider.send', trace, { 'signalbox.provider': go.provider, 'signalbox.channel': go.outbound.channel }, () =>
      provider.send(go.outbound),
    );
  }

  /**
   * What the provider answered, recorded (inside a transaction). Receipts that beat this
   * bookkeeping were parked: the side that comes second applies them, here at once.
   */
  private async record(
    store: SendStore,
    at: { messageId: string; step: number; plan?: readonly PlanStep[]; go: Go },
    result: SendResult,
  ): Promise<void> {
    const { messageId, step, go } = at;
    const now = this.now();
    // a router may have served it through another provider than the plan named (receipts come from that one)
    const provider = result.provider ?? go.provider;
    const via = {
      ...(provider !== go.provider ? { provider } : {}),
      ...(result.route !== undefined ? { route: result.route } : {}),
    };
    if (result.status === 'failed') {
      if (
        await store.attempts.update(
          go.outbound.claim,
          { status: 'failed', error: result.error, ...via, ...(go.content ? { content: go.content } : {}) },
          now,
          ['claimed'],
        )
      )
        await applyOutcome(store, { messageId, outbound: go.outbound, provider, result }, now, this.d.ruleset());
      await this.d.followUps.afterFailed(store, messageId, step);
      return;
    }
    if (
      await store.attempts.update(
        go.outbound.claim,
        {
          status: 'sent',
          providerMessageId: result.providerMessageId,
          cost: result.cost,
          ...via,
          ...(go.content ? { content: go.content } : {}),
        },
        now,
        ['claimed'],
      )
    ) {
      await store.messages.sent(messageId, go.outbound.channel, result.cost, now);
      await this.d.receipts.applyParked(store, provider, result.providerMessageId);
    }
    await this.d.followUps.afterSent(store, messageId, step, now, at.plan);
  }

  /**
   * `record` for the sends a unit made together, what went recorded together (`Store.sendsRecorded`:
   * one statement on PostgreSQL); failures one by one. When nothing else is to be written with
   * them (no failure, no follow-up or delivery timeout to schedule) that statement is all, with no
   * transaction around it, and the receipts it saw parked are applied in one of their own;
   * otherwise all of it is one transaction, the timers scheduled before the receipts that beat
   * this bookkeeping (parked) are taken and applied, since those may cancel them.
   */
  private async recordAnswers(answered: ReadonlyArray<{ s: ClaimedSend; result: SendResult }>): Promise<void> {
    const now = this.now();
    const went: Array<{ s: ClaimedSend; result: Extract<SendResult, { status: 'accepted' }> }> = [];
    const failed: Array<{ s: ClaimedSend; result: SendResult }> = [];
    for (const a of answered) {
      if (a.result.status === 'failed') failed.push(a);
      else went.push({ s: a.s, result: a.result });
    }
    const sent = went.map(({ s, result }) => ({
      claim: s.go.outbound.claim,
      messageId: s.messageId,
      channel: s.go.outbound.channel,
      // a router may have served it through another provider than the plan named (receipts come from that one)
      provider: result.provider ?? s.go.provider,
      providerMessageId: result.providerMessageId,
      cost: result.cost,
      ...(result.route !== undefined ? { route: result.route } : {}),
      ...(s.go.content ? { content: s.go.content } : {}),
    }));
    const followUps = went.map(({ s }) => ({ messageId: s.messageId, step: s.step, sentAt: now, plan: s.plan }));
    if (failed.length === 0 && followUps.every((w) => followUpTimers(w).length === 0)) {
      const parked = (await this.d.store.sendsRecorded(sent, now)).filter((r) => r.parked);
      if (parked.length === 0) return;
      try {
        await this.d.store.transaction((tx) => this.d.receipts.applyParkedMany(tx, parked));
      } catch (err) {
        // recorded all the same: whoever takes the parked rows applies them (the sweep, if not here)
        this.d.log.warn({ err: (err as Error).message }, 'applying receipts parked for sends failed; the sweep applies them');
      }
      return;
    }
    await this.d.store.transaction(async (tx) => {
      for (const { s, result } of failed) await this.record(tx, s, result);
      const recorded = await tx.sendsRecorded(sent, now);
      await this.d.followUps.afterSentMany(tx, followUps);
      // taken for every send recorded, not only those the statement saw parked: a receipt parked
      // since (its transaction committed meanwhile) is taken here rather than left for the sweep
      await this.d.receipts.applyParkedMany(tx, recorded);
    });
  }

  /**
   * Resumes sends claimed without a timer whose lease ran out still claimed (the worker died
   * between its commit and the provider's answer, or the call failed): the gate runs again on
   * fresh state and sends under the same claim. Returns how many. `look: false` when the caller
   * has just seen one stalled.
   */
  async resumeStalled(limit = STALLED_PER_ROUND, look = true): Promise<number> {
    const stalled = await this.d.store.attempts.takeStalled(this.now(), this.d.lease, limit, look);
    await yieldToIo();
    // settled each on its own: one whose bookkeeping failed does not leave the others unwatched
    await Promise.allSettled(
      stalled.map(async (s) => {
        try {
          await this.sendStep(s.messageId, s.step);
          // settled either way (sent, or the gate decided otherwise and left the claim unused)
          await this.d.store.attempts.setLease(s.claim, null);
        } catch (err) {
          this.d.log.error({ err: (err as Error).message }, 'resuming a send failed; retrying in 30 s');
          await this.d.store.attempts.setLease(s.claim, this.now() + RETRY_MS);
        }
      }),
    );
    return stalled.length;
  }

  /**
   * Gives up, at once, the leases `owner` held before it restarted (`'*'`: all of them, where one
   * process owns everything), so its sends are resumed now, not when the leases run out.
   */
  expireLeasesOf(owner: string): Promise<number> {
    return this.d.store.attempts.expireLeasesOf(owner, this.now());
  }
}
