import type { Contact, MessageRequest } from '@signalbox/engine';

/** Who a message goes to, as far as its content may say. */
export type ContentContact = Pick<Contact, 'id' | 'locale' | 'timezone' | 'market' | 'attributes'>;

/**
 * What a template's Liquid reads: the request's variables at the top (`{{ amount }}`), the
 * contact (`{{ contact.firstName }}`: its attributes, id, locale, timezone, market) and the CRM
 * object the message is about (`{{ object.id }}`: its reference and the snapshot, when there is one).
 */
export function contentScope(
  request: Pick<MessageRequest, 'variables' | 'object'>,
  contact: ContentContact,
  object?: Record<string, unknown>,
): Record<string, unknown> {
  const scope: Record<string, unknown> = { ...(request.variables ?? {}) };
  const c: Record<string, unknown> = { ...contact.attributes, id: contact.id };
  if (contact.locale !== undefined) c.locale = contact.locale;
  if (contact.timezone !== undefined) c.timezone = contact.timezone;
  if (contact.market !== undefined) c.market = contact.market;
  scope.contact = c;
  if (object !== undefined || request.object !== undefined) scope.object = { ...object, ...request.object };
  return scope;
}
