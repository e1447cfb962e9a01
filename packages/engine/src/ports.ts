import type { DecisionContext } from './model/context.js';
import type { CrmEvent } from './model/event.js';
import type { ContentVariant } from './model/vocabulary.js';

/**
 * Ports the outside implements (app: stores, providers; connectors: CRMs). The engine only names
 * them; it never calls I/O itself.
 */
export interface Clock {
  now(): Date;
}

/** Loads the fresh state a decision needs about a contact. */
export interface DecisionContextSource {
  load(contactId: string, object?: { type: string; id: string }): Promise<DecisionContext>;
}

export interface OutboundMessage {
  /** The (message, attempt) claim: the provider's idempotency key. */
  claim: string;
  messageId: string;
  channel: string;
  to: string;
  content: ContentVariant;
  template: string | null;
  variables: Record<string, string | number | boolean>;
  /** The price the plan expected for this channel in the contact's market. */
  estimatedCost: number;
}

export type SendResult =
  | { status: 'accepted'; providerMessageId: string; cost: number }
  | { status: 'failed'; error: string; retryable: boolean };

export type ReceiptStatus = 'delivered' | 'read' | 'undelivered' | 'failed';

export interface Receipt {
  providerMessageId: string;
  status: ReceiptStatus;
  at: string;
}

export interface InboundMessage {
  id: string;
  channel: string;
  from: string;
  text?: string | undefined;
  /** A button payload (e.g. CONFIRM / RESCHEDULE). */
  payload?: string | undefined;
  at: string;
}

/** A channel provider: sends with an idempotency key, returns its id and cost. */
export interface ChannelProvider {
  readonly name: string;
  send(message: OutboundMessage): Promise<SendResult>;
}

export interface CrmRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | string;
}

export interface CrmConnector {
  readonly source: 'hubspot' | 'salesforce';
  verify(request: CrmRequest, nowMs: number): void;
  parseEvents(body: unknown): CrmEvent[];
}
