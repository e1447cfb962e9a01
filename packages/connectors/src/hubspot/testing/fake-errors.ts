/**
 * HubSpot's error answers, in the shapes HubSpot sends: every body is
 * `{status:'error', message, correlationId, category, …}` (the specs' `Error`), with the details
 * HubSpot adds for scopes, property values and associations.
 */

export class HsError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** 403 for a call the token's scopes do not cover (HubSpot names the scopes that would). */
export function missingScopes(required: readonly string[]): HsError {
  return new HsError(
    403,
    'MISSING_SCOPES',
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
    {
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [...required] } }],
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    },
  );
}

export interface InvalidValue {
  name: string;
  code: 'PROPERTY_DOESNT_EXIST' | 'INVALID_OPTION';
  message: string;
}

/**
 * 400 for property values HubSpot refuses: the message embeds HubSpot's JSON list of failures, and
 * `errors[]` repeats each with its code and the property's name.
 */
export function invalidPropertyValues(portalId: number, invalid: readonly InvalidValue[]): HsError {
  const listed = invalid.map((i) => ({
    isValid: false,
    message: i.message,
    error: i.code,
    name: i.name,
    localizedErrorMessage: i.message,
    portalId,
  }));
  return new HsError(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(listed)}`, {
    errors: invalid.map((i) => ({ message: i.message, code: i.code, context: { propertyName: [i.name] } })),
  });
}

export const propertyDoesntExist = (name: string): InvalidValue => ({
  name,
  code: 'PROPERTY_DOESNT_EXIST',
  message: `Property "${name}" does not exist`,
});

/** 400 for an association type id that does not go from this object type (as the associations API words it). */
export function invalidAssociationType(typeId: number, fromType: string, toType: string | null): HsError {
  return new HsError(
    400,
    'VALIDATION_ERROR',
    toType === null
      ? `${typeId} is not a valid association type from ${fromType}`
      : `${typeId} is not a valid association type between ${fromType} and ${toType}`,
    {
      subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE',
      context: { type: [String(typeId)], fromObjectType: [fromType], ...(toType === null ? {} : { toObjectType: [toType] }) },
    },
  );
}

/** HubSpot's 429 bodies carry `errorType` and `policyName`, not `category`. */
export function rateLimitBody(policy: 'SECONDLY' | 'TEN_SECONDLY_ROLLING', groupName: string, correlationId: string) {
  return {
    status: 'error',
    message: policy === 'SECONDLY' ? 'You have reached your secondly limit.' : 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId,
    policyName: policy,
    groupName,
  };
}
