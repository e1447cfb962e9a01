import type { OutboundMessage } from '@signalbox/engine';
import { plainText } from './content.js';

/**
 * What a provider is asked to send: the engine's outbound message, with the rendered content when
 * the template has some for the channel. Without it a provider sends the template's description
 * (what the ruleset says the message is), never an empty message.
 */
export type ProviderMessage = OutboundMessage;

/** What the ruleset says about a template, for messages that come without rendered content. */
export interface TemplateFacts {
  description: string;
  /** Promotional messages carry an unsubscribe link when they go out by email. */
  marketing: boolean;
}

export type DescribeTemplate = (template: string | null) => TemplateFacts;

/** The plain text of a message, whatever its content kind. */
export function textOf(m: ProviderMessage, describe: DescribeTemplate): string {
  return m.rendered === undefined ? describe(m.template).description : plainText(m.rendered);
}

/** SMS segments the message costs at the provider (the rendered count, or 1). */
export function segmentsOf(m: ProviderMessage): number {
  return m.rendered?.kind === 'text' ? Math.max(1, m.rendered.segments.segments) : 1;
}

/** A voice call's script, language and voice. */
export function voiceOf(m: ProviderMessage, describe: DescribeTemplate): { script: string; language: string; voice?: string | undefined } {
  if (m.rendered?.kind === 'voice') return m.rendered;
  return { script: textOf(m, describe), language: 'en-US' };
}

/** An email's parts. */
export function emailOf(
  m: ProviderMessage,
  describe: DescribeTemplate,
): { subject: string; html: string; text: string; marketing: boolean } {
  if (m.rendered?.kind === 'email') return m.rendered;
  const facts = describe(m.template);
  const text = textOf(m, describe);
  return { subject: facts.description.slice(0, 150), html: `<p>${escapeHtml(text)}</p>`, text, marketing: facts.marketing };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
