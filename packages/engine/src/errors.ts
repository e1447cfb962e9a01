/** One problem in an input, located by a JSON pointer (RFC 6901) into that input. */
export interface Problem {
  path: string;
  message: string;
}

/** Base of every error the engine throws: a stable code, the HTTP status it maps to, and the problems. */
export class SignalboxError extends Error {
  readonly code: string;
  readonly status: number;
  readonly problems: Problem[];

  constructor(code: string, status: number, message: string, problems: Problem[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.problems = problems;
  }
}

/** A ruleset that does not validate: never loaded, never half-used. */
export class RulesetInvalidError extends SignalboxError {
  constructor(problems: Problem[]) {
    super(
      'RULES_INVALID',
      422,
      `ruleset is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems
        .slice(0, 3)
        .map((p) => `${p.path || '/'} ${p.message}`)
        .join('; ')}`,
      problems,
    );
  }
}

/** An argument given to an engine entry point that does not match its contract. */
export class EngineInputError extends SignalboxError {
  constructor(what: string, problems: Problem[]) {
    super(
      'INPUT_INVALID',
      400,
      `${what} is invalid: ${problems
        .slice(0, 3)
        .map((p) => `${p.path || '/'} ${p.message}`)
        .join('; ')}`,
      problems,
    );
  }
}

/** Journey input that does not fit the instance (wrong journey, finished instance, unknown journey). */
export class JourneyStateError extends SignalboxError {
  constructor(message: string, path = '') {
    super('JOURNEY_STATE_INVALID', 409, message, [{ path, message }]);
  }
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function toPointer(path: ReadonlyArray<string | number | symbol>): string {
  return path.map((s) => `/${pointerSegment(typeof s === 'symbol' ? String(s) : s)}`).join('');
}
