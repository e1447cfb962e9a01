import { HubspotApiError, PortalDisabledError } from '@signalbox/connectors';

/**
 * The HubSpot calls the HTTP side makes while it answers (the card, a workflow action, the
 * install). Where a worker thread owns the portals' limiters they are made there (one limiter per
 * portal in the process); otherwise here.
 */
export interface HubspotCalls {
  /** Our contact id for a HubSpot contact (fetched and stored now if the sync has not reached it), or null. */
  contactFor(portalId: number, hubspotId: string): Promise<string | null>;
  /** The HubSpot contacts of a record (a ticket, deal or invoice; a contact is its own). */
  contactsOf(portalId: number, objectType: string, objectId: string): Promise<string[]>;
  /** The OAuth callback's work: the code exchanged, tokens stored, properties created, the sync begun. Returns the portal. */
  install(code: string): Promise<number>;
}

/** An error as it crosses a thread boundary. */
export interface CallError {
  name: string;
  message: string;
  status?: number;
  category?: string;
  policyName?: string | undefined;
}

export function toCallError(err: unknown): CallError {
  const e = err as Error;
  if (err instanceof PortalDisabledError) return { name: 'PortalDisabledError', message: e.message };
  if (err instanceof HubspotApiError)
    return { name: 'HubspotApiError', message: e.message, status: err.status, category: err.category, policyName: err.policyName };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

/** The error again, as the class the callers map (PortalDisabledError, HubspotApiError). */
export function fromCallError(e: CallError): Error {
  if (e.name === 'PortalDisabledError') return new PortalDisabledError(e.message);
  if (e.name === 'HubspotApiError') return new HubspotApiError(e.status ?? 500, e.category ?? 'UNKNOWN', e.message, e.policyName);
  return Object.assign(new Error(e.message), { name: e.name });
}

/** HubspotCalls made through `call` (another thread), by name. */
export function remoteHubspotCalls(call: (name: keyof HubspotCalls, args: unknown[]) => Promise<unknown>): HubspotCalls {
  return {
    contactFor: (portalId, hubspotId) => call('contactFor', [portalId, hubspotId]) as Promise<string | null>,
    contactsOf: (portalId, objectType, objectId) => call('contactsOf', [portalId, objectType, objectId]) as Promise<string[]>,
    install: (code) => call('install', [code]) as Promise<number>,
  };
}
