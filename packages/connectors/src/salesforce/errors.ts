import { type Problem, SignalboxError } from '@signalbox/engine';

const summary = (problems: Problem[]) =>
  problems
    .slice(0, 3)
    .map((p) => `${p.path || '/'} ${p.message}`)
    .join('; ');

/** An Outbound Message we refuse before or while parsing it (size, depth, DTD, shape). */
export class OutboundMessageError extends SignalboxError {
  constructor(
    code:
      | 'OUTBOUND_MESSAGE_INVALID'
      | 'OUTBOUND_MESSAGE_TOO_LARGE'
      | 'XML_UNSAFE'
      | 'OUTBOUND_SECRET_INVALID'
      | 'METHOD_NOT_ALLOWED'
      | 'UNSUPPORTED_MEDIA_TYPE',
    status: number,
    problems: Problem[],
  ) {
    super(code, status, `Salesforce Outbound Message refused: ${summary(problems)}`, problems);
  }
}

/** An Outbound Message from an organization we were not configured to hear from. */
export class UnknownOrganizationError extends SignalboxError {
  constructor(organizationId: string, path: string) {
    super('SALESFORCE_ORG_UNKNOWN', 403, `Organization ${organizationId} is not connected to Signalbox`, [
      { path, message: 'organization is not in the allow-list' },
    ]);
  }
}

/** The org's refresh token or JWT grant was refused: an admin must connect it again. */
export class OrgDisabledError extends SignalboxError {
  constructor(
    readonly orgId: string,
    reason: string,
  ) {
    super('SALESFORCE_REAUTHORIZATION_REQUIRED', 409, `Salesforce org ${orgId} needs to be connected again: ${reason}`);
  }
}

/** Salesforce said REQUEST_LIMIT_EXCEEDED and our back-off ran out of patience. */
export class SalesforceLimitError extends SignalboxError {
  constructor(
    readonly orgId: string,
    readonly retryAt: number,
    message: string,
  ) {
    super('SALESFORCE_LIMIT_EXCEEDED', 503, `Salesforce org ${orgId}: ${message}`);
  }
}

/** A Salesforce API error, with Salesforce's own errorCode (INVALID_FIELD, NOT_FOUND, …). */
export class SalesforceApiError extends SignalboxError {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(
      'SALESFORCE_API_ERROR',
      502,
      `${errorCode}: ${message}`,
      fields.map((f) => ({ path: `/${f}`, message })),
    );
  }
}

/** A Bulk API 2.0 query job that ended Failed or Aborted (Salesforce gives no reason for Failed). */
export class BulkQueryError extends SignalboxError {
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super('SALESFORCE_BULK_QUERY_FAILED', 502, `Bulk API 2.0 query job ${jobId} ended ${state}`);
  }
}

/** Configuration the connector cannot work with (named by its path in the config object). */
export class SalesforceConfigError extends SignalboxError {
  constructor(problems: Problem[]) {
    super('SALESFORCE_CONFIG_INVALID', 500, `Salesforce connector configuration is invalid: ${summary(problems)}`, problems);
  }
}
