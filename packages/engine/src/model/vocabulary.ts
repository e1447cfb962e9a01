/** Message types: what a message is for decides how it may travel. */
export const MESSAGE_TYPES = ['otp', 'transactional', 'service', 'rich', 'urgent', 'promotional'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Consent purposes. */
export const PURPOSES = ['marketing', 'service', 'transactional'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** The purpose a message type carries when the request does not say. */
export const DEFAULT_PURPOSE: Record<MessageType, Purpose> = {
  otp: 'transactional',
  transactional: 'transactional',
  urgent: 'transactional',
  service: 'service',
  rich: 'service',
  promotional: 'marketing',
};

/** Identity kinds a contact is known by. */
export const IDENTITY_KINDS = ['phone', 'email', 'hubspot', 'salesforce', 'whatsapp', 'viber'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** Channel kinds Signalbox knows how to carry; a ruleset declares which it uses under which names. */
export const CHANNEL_KINDS = ['sms', 'whatsapp', 'viber', 'rcs', 'ussd', 'voice', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Content variants a channel can carry. `text+link` is rich content adapted for a plain-text channel. */
export const CONTENT_VARIANTS = ['rich', 'text', 'text+link', 'voice', 'ussd-menu'] as const;
export type ContentVariant = (typeof CONTENT_VARIANTS)[number];

/** Our CRM-neutral event vocabulary; rulesets may add their own names through `eventMap`. */
export const EVENT_TYPES = [
  'invoice.overdue',
  'invoice.paid',
  'invoice.created',
  'ticket.opened',
  'ticket.closed',
  'complaint.filed',
  'appointment.booked',
  'appointment.confirmed',
  'appointment.reschedule_requested',
  'appointment.cancelled',
  'appointment.completed',
  'cart.abandoned',
  'order.placed',
  'order.shipped',
  'order.delivered',
  'deal.stage_changed',
  'contact.created',
  'contact.updated',
  'contact.deleted',
  'contact.merged',
  'call.completed',
  'subscription.renewal_due',
  'subscription.renewed',
  'subscription.cancelled',
  'onboarding.step_completed',
  'onboarding.completed',
  'dispatch.assigned',
  'dispatch.en_route',
  'dispatch.completed',
  'kyc.failed',
  'account.issue_opened',
  'account.issue_urgent',
  'account.issue_resolved',
  'reply.received',
  'reply.confirm',
  'reply.reschedule',
  'reply.stop',
  'message.delivered',
  'message.read',
  'message.failed',
] as const;

export const STAGES = ['guards', 'mapping', 'capability', 'preferences', 'cost', 'timing', 'plan'] as const;
export type Stage = (typeof STAGES)[number];
