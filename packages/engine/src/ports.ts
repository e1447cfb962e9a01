import type { RenderedContent } from './content/rendered.js';
import type { ContentVariant } from './model/vocabulary.js';

/**
 * Ports the outside implements (the app's channel providers). The engine only names them; it never
 * calls I/O itself. (The CRM port lives with the connectors, which implement it.)
 */
export interface OutboundMessage {
  /** The (message, attempt) claim: the provider's idempotency key. */
  claim: string;
  messageId: string;
  channel: string;
  to: string;
  /** The content variant chosen for the channel (rich, text, text+link, voice, ussd-menu, email). */
  content: ContentVariant;
  /**
   * The message itself, rendered for this channel and the contact's language. (`content` already
   * names the variant, so the rendered message travels as `rendered`.) Absent when the template has
   * no content for the variant (rulesets without content).
   */
  rendered?: RenderedContent | undefined;
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
