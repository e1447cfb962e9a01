import { HubspotApiError, PortalDisabledError } from '@signalbox/connectors';
import { isUnreachable, UNREACHABLE_MESSAGE } from '../crm/crm-calls.js';
import { AppError } from '../errors.js';

/**
 * A CRM call made while answering a request: an account that uninstalled us, or a CRM refusing,
 * is a clear 4xx (HubSpot retries 5xx), never a crash. Salesforce's errors are coded already
 * (reauthorization needed 409, limit exceeded 503, API error 502). A CRM that cannot be reached at
 * all is 502 CRM_UNREACHABLE.
 */
export async function crmCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PortalDisabledError)
      throw new AppError(
        403,
        'PORTAL_NOT_INSTALLED',
        'Signalbox is not installed in this HubSpot portal (or was uninstalled): install it again',
      );
    if (err instanceof HubspotApiError) {
      if (err.status === 429) throw new AppError(429, 'CRM_RATE_LIMITED', 'HubSpot is rate limiting this portal: try again shortly');
      throw new AppError(err.status >= 500 ? 502 : 400, 'CRM_REFUSED', `HubSpot answered ${err.status} ${err.category}: ${err.message}`);
    }
    if (isUnreachable(err)) throw new AppError(502, 'CRM_UNREACHABLE', UNREACHABLE_MESSAGE);
    throw err;
  }
}
