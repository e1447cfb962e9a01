import {
  type CrmName,
  type CrmRecordRef,
  HubspotApiError,
  OrgDisabledError,
  PortalDisabledError,
  SalesforceApiError,
  SalesforceLimitError,
} from '@signalbox/connectors';
import { SignalboxError } from '@signalbox/engine';
import { AppError } from '../errors.js';

/**
 * The CRM calls the HTTP side makes while it answers (an agent panel for a person not synced yet,
 * a workflow action's associations, connecting an account). Where a worker thread owns the
 * accounts' limiters they are made there (one limiter per account in the process); otherwise here.
 */
export interface CrmCalls {
  /** Our contact for a CRM person (fetched and stored now if the sync has not reached it), or null. */
  contactFor(crm: CrmName, account: string, ref: CrmRecordRef): Promise<string | null>;
  /** Our contacts for a CRM record (a ticket's, a case's people; a person is their own). */
  contactsOf(crm: CrmName, account: string, record: CrmRecordRef): Promise<string[]>;
  /** The OAuth callback's work: the code exchanged, tokens stored, the account set up, its sync begun. Returns the account. */
  connect(crm: CrmName, code: string): Promise<string>;
}

/** An error as it crosses a thread boundary. */
export interface CallError {
  name: string;
  message: string;
  status?: number;
  category?: string;
  policyName?: string | undefined;
  code?: string;
  account?: string;
  fields?: string[];
  retryAt?: number;
}

export const UNREACHABLE_MESSAGE = 'the CRM could not be reached: try again in a moment';

/** Codes of a connection that failed (Node's sockets and DNS, undici's fetch). */
const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_[A-Z_]+)$/;

/**
 * Whether an error says the CRM could not be reached at all (refused, reset, timed out, not
 * found), looking through the causes it wraps (fetch's TypeError 'fetch failed' holds the socket's).
 */
export function isUnreachable(err: unknown): boolean {
  let e = err as { code?: unknown; name?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    if (typeof e.code === 'string' && UNREACHABLE.test(e.code)) return true;
    if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'FetchError') return true;
    e = e.cause as typeof e;
  }
  return false;
}

export function toCallError(err: unknown): CallError {
  const e = err as Error;
  if (isUnreachable(err)) return { name: 'SignalboxError', message: UNREACHABLE_MESSAGE, status: 502, code: 'CRM_UNREACHABLE' };
  if (err instanceof PortalDisabledError) return { name: 'PortalDisabledError', message: e.message };
  if (err instanceof HubspotApiError)
    return { name: 'HubspotApiError', message: e.message, status: err.status, category: err.category, policyName: err.policyName };
  if (err instanceof OrgDisabledError) return { name: 'OrgDisabledError', message: e.message, account: err.orgId };
  if (err instanceof SalesforceLimitError)
    return { name: 'SalesforceLimitError', message: e.message, account: err.orgId, retryAt: err.retryAt };
  if (err instanceof SalesforceApiError) return { name: 'SalesforceApiError', message: e.message, code: err.errorCode, fields: err.fields };
  if (err instanceof SignalboxError) return { name: 'SignalboxError', message: e.message, status: err.status, code: err.code };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

/** The error again, as the class its callers map. */
export function fromCallError(e: CallError): Error {
  switch (e.name) {
    case 'PortalDisabledError':
      return new PortalDisabledError(e.message);
    case 'HubspotApiError':
      return new HubspotApiError(e.status ?? 500, e.category ?? 'UNKNOWN', e.message, e.policyName);
    case 'OrgDisabledError':
      return new OrgDisabledError(e.account ?? '', e.message);
    case 'SalesforceLimitError':
      return new SalesforceLimitError(e.account ?? '', e.retryAt ?? 0, e.message);
    case 'SalesforceApiError':
      return new SalesforceApiError(e.code ?? 'UNKNOWN', e.message, e.fields ?? []);
    case 'SignalboxError':
      return new AppError(e.status ?? 500, e.code ?? 'INTERNAL', e.message);
    default:
      return Object.assign(new Error(e.message), { name: e.name });
  }
}

/** CrmCalls made through `call` (another thread), by name. */
export function remoteCrmCalls(call: (name: keyof CrmCalls, args: unknown[]) => Promise<unknown>): CrmCalls {
  return {
    contactFor: (crm, account, ref) => call('contactFor', [crm, account, ref]) as Promise<string | null>,
    contactsOf: (crm, account, record) => call('contactsOf', [crm, account, record]) as Promise<string[]>,
    connect: (crm, code) => call('connect', [crm, code]) as Promise<string>,
  };
}
