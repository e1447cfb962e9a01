import { type Problem, SignalboxError } from '@signalbox/engine';

/** A CRM payload that does not have the shape the CRM documents. */
export class CrmPayloadError extends SignalboxError {
  constructor(source: string, problems: Problem[]) {
    super(
      'CRM_PAYLOAD_INVALID',
      400,
      `${source} payload is invalid: ${problems
        .slice(0, 3)
        .map((p) => `${p.path || '/'} ${p.message}`)
        .join('; ')}`,
      problems,
    );
  }
}

/** A request that does not prove it comes from the CRM (a signature that does not verify, stale or missing). */
export class CrmAuthError extends SignalboxError {
  constructor(crm: string, reason: string) {
    super('SIGNATURE_INVALID', 401, `${crm} signature ${reason}`);
  }
}
