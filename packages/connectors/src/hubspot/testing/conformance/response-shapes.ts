/**
 * Checks an HTTP answer against what HubSpot answers that call with (operations.ts, shapes.ts):
 * the operation is found by method and path (a literal segment wins over a parameter, so
 * `/crm/v3/properties/{objectType}/groups` is not read as a property named "groups"), the status
 * must be one HubSpot answers it with, a body must be JSON and match the status's shape, and a
 * status without a body must come without one. The shapes are compiled by ajv 8 in strict mode,
 * so a typo in a shape fails loudly instead of checking nothing.
 */
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { OPERATIONS, type Operation, type SpecName } from './operations.js';

export type { Operation, SpecName } from './operations.js';

export interface ResponseCheck {
  operation: Operation | null;
  problems: string[];
}

export interface Answer {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  body: string;
}

/** The formats the shapes may use; ajv checks each (ajv-formats). */
const FORMATS = ['date-time', 'uuid'] as const;

interface Compiled {
  operation: Operation;
  regex: RegExp;
  params: number;
  validators: Map<number, ValidateFunction | null>;
}

export class ResponseShapes {
  private readonly compiled: Compiled[];
  /** Every `format` the shapes use; a check asserts each is one ajv checks. */
  readonly formatsUsed = new Set<string>();
  /** The HubSpot specs the operations are described in. */
  readonly specs: SpecName[];

  constructor(operations: readonly Operation[] = OPERATIONS) {
    const ajv = new Ajv({ strict: true, allErrors: true });
    formats.default(ajv, [...FORMATS]);
    this.compiled = operations.map((operation) => {
      const validators = new Map<number, ValidateFunction | null>();
      for (const [status, shape] of Object.entries(operation.responses)) {
        if (shape !== null) this.collectFormats(shape);
        validators.set(Number(status), shape === null ? null : ajv.compile(shape));
      }
      const pattern = operation.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^/]+?\}/g, '[^/]+');
      return { operation, regex: new RegExp(`^${pattern}$`), params: (operation.template.match(/\{/g) ?? []).length, validators };
    });
    this.specs = [...new Set(operations.map((o) => o.spec))].sort();
  }

  private collectFormats(x: unknown): void {
    if (Array.isArray(x)) for (const v of x) this.collectFormats(v);
    else if (typeof x === 'object' && x !== null) {
      const format = (x as SchemaObject).format;
      if (typeof format === 'string') this.formatsUsed.add(format);
      for (const v of Object.values(x)) this.collectFormats(v);
    }
  }

  private find(method: string, path: string): Compiled | null {
    const found = this.compiled.filter((c) => c.operation.method === method.toUpperCase() && c.regex.test(path));
    found.sort((a, b) => a.params - b.params);
    return found[0] ?? null;
  }

  /** The operation HubSpot serves this call with, the most literal path first. */
  operation(method: string, path: string): Operation | null {
    return this.find(method, path)?.operation ?? null;
  }

  /** Problems with one answer, as `where: what` lines; none means HubSpot could have answered so. */
  check(res: Answer): ResponseCheck {
    const c = this.find(res.method, res.path);
    if (c === null) return { operation: null, problems: [`no operation for ${res.method} ${res.path}`] };
    const { operation, validators } = c;
    const validate = validators.get(res.status);
    if (validate === undefined) {
      const listed = [...validators.keys()].join(', ');
      return {
        operation,
        problems: [`status ${res.status} is not one HubSpot answers ${operation.method} ${operation.template} with (${listed})`],
      };
    }
    if (validate === null) {
      return { operation, problems: res.body === '' ? [] : [`status ${res.status} has no body, got ${res.body.length} bytes`] };
    }
    const type = (res.contentType ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      return { operation, problems: [`content-type ${res.contentType ?? '(none)'} is not application/json`] };
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return { operation, problems: [`body is not JSON: ${res.body.slice(0, 80)}`] };
    }
    if (validate(body)) return { operation, problems: [] };
    return { operation, problems: (validate.errors ?? []).map((e: ErrorObject) => `body${e.instancePath}: ${e.message ?? e.keyword}`) };
  }
}
