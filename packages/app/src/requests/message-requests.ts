import { type CompiledRuleset, type Decision, decideParsed, type MessageRequest, type PlanStep } from '@signalbox/engine';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { contextOf, eventReach, loadContext } from '../contacts/context.js';
import type { DecisionState } from '../contacts/decision-reads.js';
import type { ContentRenderer } from '../content/renderer.js';
import type { FirstClaim, Sender, SendStore } from '../delivery/sender.js';
import { type ClaimedSend, tell, type Unit } from '../delivery/unit.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Logger } from '../logger.js';
import type { MessageRow, NewMessage } from '../messages/message-record.js';
import type { MessageStatus } from '../messages/status.js';
import { assertTemplateUsable, withTemplateDefaults } from './template-check.js';

export interface MessageStore extends SendStore {
  audit: AuditLog;
}

export interface Requested {
  messageId: string;
  decision: Decision;
  created: boolean;
  status: MessageStatus;
  /** Its first step, claimed to be sent as soon as the unit commits (see Sender.firstClaim). */
  send?: ClaimedSend;
}

/** What a message request may carry besides the request itself. */
export interface RequestMeta {
  journeyInstanceId?: string | null;
  onlyChannel?: string;
  checkTemplateAt?: string;
  typeAt?: string;
  /** The contact's decision state as the unit read it ahead (see journeys/read-ahead.ts); read here otherwise. */
  state?: DecisionState;
}

/** A message decided (`MessageRequests.decide`), not recorded yet. */
export interface DecidedMessage {
  recording: NewMessage;
  /** When its first step is due (NaN: not queued). */
  dueAt: number;
  /** Its first step, to claim as it is recorded (due now, in a unit that sends on commit). */
  claim: FirstClaim | null;
  /** When it was decided. */
  at: number;
}

const statusOf = (d: Decision): MessageStatus => (d.outcome === 'suppress' ? 'suppressed' : d.outcome === 'review' ? 'review' : 'queued');

/**
 * Message requests: decided against the contact's fresh state and recorded with their decision;
 * a person's review verdict; cancellation. Idempotent on the request's key.
 */
export class MessageRequests {
  constructor(
    private readonly d: {
      ruleset: () => CompiledRuleset;
      content: ContentRenderer;
      sender: Sender;
      clock: Clock;
      log: Logger;
      metrics?: { decided(type: string, outcome: string): void };
    },
  ) {}

  private now(): number {
    return this.d.clock.now().getTime();
  }

  /**
   * Decides and records a message, and schedules its first step. The contact is locked for the
   * unit (PostgreSQL; SQLite has one writer), so two requests for one contact at the same moment
   * decide one after the other: the second sees the first against the pressure budget.
   */
  async request(u: Unit<MessageStore>, contactId: string, request: MessageRequest, meta: RequestMeta = {}): Promise<Requested> {
    return this.record(u, await this.decide(u, contactId, request, meta));
  }

  /** What `request` decides, recorded by `record` (or `recordMany`): nothing is written yet. */
  async decide(u: Unit<MessageStore>, contactId: string, request: MessageRequest, meta: RequestMeta = {}): Promise<DecidedMessage> {
    // the workflows Signalbox names itself are not a caller's to claim: rules may trust them (the
    // reply to a STOP passes quiet hours; a journey's messages are reported as the journey's)
    if (meta.checkTemplateAt !== undefined && request.workflow !== undefined && isReservedWorkflow(request.workflow))
      throw new InputError(
        `workflow "${request.workflow}" is one Signalbox names its own messages with`,
        [{ path: `${meta.checkTemplateAt}/workflow`, message: 'reserved: consent-keywords, journey:…' }],
        'WORKFLOW_RESERVED',
      );
    // a request from outside (API, card, panel, workflow action; `checkTemplateAt` locates the
    // message in its body) has its template checked, unless its key already made a message: a
    // retry gets its first answer, whatever the ruleset says now (see template-check.ts)
    if (
      meta.checkTemplateAt !== undefined &&
      (request.idempotencyKey === undefined || !(await u.store.messages.hasIdempotencyKey(request.idempotencyKey)))
    )
      assertTemplateUsable(this.d.ruleset(), request, meta.checkTemplateAt, meta.typeAt);
    await u.store.contacts.lock(contactId);
    // the time of the decision once the contact is ours: what went while this waited for it was
    // before it (a send claimed meanwhile counts in the budget)
    const now = this.now();
    const rs = this.d.ruleset();
    const { contact, context } =
      meta.state !== undefined && meta.state.contact.id === contactId
        ? contextOf(meta.state, now)
        : await loadContext(u.store, contactId, now, eventReach(rs));
    request = withTemplateDefaults(rs, request);
    // an SMS costs what its rendered text takes in segments: the cost stage compares on that
    const decided = decideParsed(request, context, rs, now, this.d.content.facts(rs, { request, contact }));
    const decision = meta.onlyChannel === undefined ? decided : onlyOn(decided, meta.onlyChannel);
    const metrics = this.d.metrics;
    if (metrics !== undefined) tell(u, () => metrics.decided(request.type, decision.outcome));
    const recording: NewMessage = {
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
      status: statusOf(decision),
      outcome: decision.outcome,
      channel: null,
      cost: 0,
      request,
      decision,
    };
    // due now, inside a unit that sends on commit: its first step is claimed with it (one statement
    // on PostgreSQL) and sent right after the commit, the attempt's lease standing in for a timer
    // row; anything else goes through a timer and the gate
    const dueAt = recording.status === 'queued' ? Date.parse((decision.plan[0] as PlanStep).sendAt) : Number.NaN;
    const claim =
      recording.status === 'queued' && dueAt <= now
        ? this.d.sender.firstClaim(u, { id: recording.id, template: recording.template, plan: decision.plan }, contact, request)
        : null;
    return { recording, dueAt, claim, at: now };
  }

  /** Records a decided message: its first step claimed when due now, a timer for it otherwise. */
  async record(u: Unit<MessageStore>, d: DecidedMessage): Promise<Requested> {
    if (d.claim === null) {
      const { message, created } = await u.store.messages.create(d.recording, d.at);
      if (created && message.status === 'queued')
        await u.store.timers.schedule({ kind: 'step', messageId: message.id, step: 0 }, d.dueAt, d.at);
      return { messageId: message.id, decision: message.decision, created, status: message.status };
    }
    return this.claimed(u, d, d.claim, await u.store.attempts.claimWithMessage(d.recording, d.at, d.claim.attempt, d.claim.lease));
  }

  /**
   * `record` for several messages decided in one unit (of different idempotency keys): those
   * claimed now in one statement (PostgreSQL), the others one by one. Answers in their order.
   */
  async recordMany(u: Unit<MessageStore>, list: readonly DecidedMessage[]): Promise<Requested[]> {
    const claiming = list.filter((d) => d.claim !== null);
    const claimed =
      claiming.length < 2
        ? null
        : await u.store.attempts.claimWithMessages(
            claiming.map((d) => ({ m: d.recording, a: (d.claim as FirstClaim).attempt, lease: (d.claim as FirstClaim).lease, now: d.at })),
          );
    const out: Requested[] = [];
    for (const d of list) {
      const r = claimed?.get(d.recording.id);
      out.push(d.claim !== null && r !== undefined ? await this.claimed(u, d, d.claim, r) : await this.record(u, d));
    }
    return out;
  }

  /** A message recorded with its first step claimed (or found recorded before, by its key). */
  private async claimed(
    u: Unit<MessageStore>,
    d: DecidedMessage,
    claim: FirstClaim,
    r: { created: boolean; claim: string | null },
  ): Promise<Requested> {
    const message: MessageRow = r.created
      ? { ...d.recording, createdAt: d.at, updatedAt: d.at }
      : await u.store.messages.byIdempotencyKey(d.recording.idempotencyKey as string);
    const created = r.created || message.id === d.recording.id;
    const requested: Requested = { messageId: message.id, decision: message.decision, created, status: message.status };
    if (r.claim !== null) requested.send = this.d.sender.claimed(u, claim, r.claim);
    else if (created && message.status === 'queued')
      await u.store.timers.schedule({ kind: 'step', messageId: message.id, step: 0 }, d.dueAt, d.at);
    return requested;
  }

  /**
   * A person's verdict on a message held for review: approved, it goes through its plan (the send
   * gate still re-checks consent, suppression and caps); rejected, it is cancelled. Audited.
   */
  async review(
    u: Unit<MessageStore>,
    messageId: string,
    verdict: 'approve' | 'reject',
    actor: string,
    note?: string,
  ): Promise<MessageStatus> {
    const now = this.now();
    const message = await u.store.messages.get(messageId);
    if (message === null) throw new NotFoundError('MESSAGE_NOT_FOUND', `no message ${messageId}`);
    const to = verdict === 'approve' ? 'queued' : 'cancelled';
    if (!(await u.store.messages.transition(messageId, ['review'], to, now)))
      throw new ConflictError('MESSAGE_NOT_IN_REVIEW', `message ${messageId} is not waiting for review (it is ${message.status})`);
    await u.store.audit.record(actor, `message.review.${verdict}`, messageId, { note: note ?? null }, now);
    // a timer of its own time: a message held at the gate (flagged for review after it was queued)
    // already had its step's timer
    if (verdict === 'approve') await u.store.timers.schedule({ kind: 'step-retry', messageId, step: 0, at: now }, now, now);
    return to;
  }

  /** Cancels a message that has not gone yet (and its pending steps); sent steps stand. */
  async cancel(u: Unit<MessageStore>, messageId: string, reason: string): Promise<boolean> {
    const now = this.now();
    const ok = await u.store.messages.transition(messageId, ['queued', 'review'], 'cancelled', now);
    await u.store.timers.cancelFor(messageId, now);
    if (ok) this.d.log.info({ messageId, reason }, 'message cancelled');
    return ok;
  }
}

/**
 * A decision kept to one channel (a keyword's confirmation answers on the channel the keyword came
 * from, never by a fallback call or another app): its first step on that channel alone, or nothing
 * sent when the plan has none.
 */
/** Workflows only Signalbox gives its own messages: keyword replies, journeys' messages. */
export const isReservedWorkflow = (w: string): boolean => w === 'consent-keywords' || w.startsWith('journey:');

export function onlyOn(d: Decision, channel: string): Decision {
  if (d.outcome !== 'send' && d.outcome !== 'defer') return d;
  const step = d.plan.find((s) => s.channel === channel && s.mode !== 'also');
  const note = { stage: 'plan' as const, channel };
  if (step === undefined)
    return {
      ...d,
      outcome: 'suppress',
      sendAt: null,
      plan: [],
      estimatedCost: 0,
      reasons: [
        ...d.reasons,
        { ...note, code: 'excluded', message: `only ${channel} may carry this message, and the plan has no ${channel} step` },
      ],
    };
  const sendAt = d.sendAt ?? step.sendAt;
  return {
    ...d,
    sendAt,
    plan: [{ ...step, step: 0, mode: 'primary', after: null, sendAt, timeoutMinutes: null, delayMinutes: 0 }],
    estimatedCost: step.estimatedCost,
    reasons: [...d.reasons, { ...note, code: 'excluded', message: `only ${channel} carries this message: no fallback to another channel` }],
  };
}
