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
  /** The contact's market (ISO 3166-1 alpha-2), when known: providers are routed per channel and market. */
  market?: string | undefined;
  /**
   * On a channel with a session window (WhatsApp): whether the contact wrote within it, so a
   * free-form message may go (outside it only an approved template may).
   */
  sessionOpen?: boolean | undefined;
}

/**
 * What a provider's refusal means for the contact, beyond this attempt: the recipient unsubscribed
 * at the provider (consent revoked), the address does not exist (identity unreachable), or the
 * channel needs an approved template here (e.g. outside WhatsApp's 24 h window).
 */
export type ProviderOutcome = 'consent-revoked' | 'unreachable' | 'template-required';

/**
 * A provider's answer. `provider`: the account that actually served it when it differs from the
 * one asked (a router failing over); `route`: why it went that way (recorded on the attempt).
 */
export type SendResult = (
  | { status: 'accepted'; providerMessageId: string; cost: number }
  | { status: 'failed'; error: string; retryable: boolean; outcome?: ProviderOutcome | undefined }
) & { provider?: string | undefined; route?: string | undefined };

export type ReceiptStatus = 'delivered' | 'read' | 'undelivered' | 'failed';

export interface Receipt {
  providerMessageId: string;
  status: ReceiptStatus;
  at: string;
  /** Why a failed or undelivered message was not delivered, as the provider said (its error code). */
  error?: string | undefined;
}

export interface InboundMessage {
  id: string;
  channel: string;
  from: string;
  text?: string | undefined;
  /** A button payload (e.g. CONFIRM / RESCHEDULE). */
  payload?: string | undefined;
  /**
   * The provider recognised an opt-out keyword in it and answered the contact itself (Twilio
   * Advanced Opt-Out's `OptOutType`, in whatever words and language the sender configured there).
   */
  optOut?: 'stop' | 'start' | 'help' | undefined;
  at: string;
}

/** A channel provider: sends with an idempotency key, returns its id and cost. */
export interface ChannelProvider {
  readonly name: string;
  send(message: OutboundMessage): Promise<SendResult>;
}
