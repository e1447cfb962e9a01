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

export interface ProviderSend {
  /** Idempotency key: the claim on (message, attempt). */
  claim: string;
  channel: string;
  to: string;
  content: ContentVariant;
  template?: string;
  variables?: Record<string, string | number | boolean>;
}

export interface ProviderResult {
  providerMessageId: string;
  cost: number;
  currency: string;
  status: 'accepted' | 'failed';
  error?: string;
}

export interface ChannelProvider {
  readonly name: string;
  readonly channels: readonly string[];
  send(message: ProviderSend): Promise<ProviderResult>;
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
