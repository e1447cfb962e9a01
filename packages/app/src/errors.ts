import { type Problem, SignalboxError } from '@signalbox/engine';

/**
 * The app's errors: the engine's coded error base (a stable `code`, the HTTP status it maps to,
 * and the problems with their JSON paths), so every route maps an error to problem+json without
 * guessing. Anything that is not a SignalboxError is a 500 with a correlation id only.
 */
export class AppError extends SignalboxError {
  constructor(status: number, code: string, message: string, problems: Problem[] = []) {
    super(code, status, message, problems);
  }
}

/** Input that does not fit: 400, with the path of each problem. */
export class InputError extends AppError {
  constructor(message: string, problems: Problem[] = [], code = 'INPUT_INVALID') {
    super(400, code, message, problems);
  }
}

/** Something named does not exist (a contact, a message, a route). */
export class NotFoundError extends AppError {
  constructor(code: string, message: string, problems: Problem[] = []) {
    super(404, code, message, problems);
  }
}

/** The request is fine but the state does not allow it (a stale version, a key reused). */
export class ConflictError extends AppError {
  constructor(code: string, message: string, problems: Problem[] = []) {
    super(409, code, message, problems);
  }
}

/** Who is asking is not known (401) or may not do this (403). */
export class AuthError extends AppError {
  constructor(status: 401 | 403, code: string, message: string, problems: Problem[] = []) {
    super(status, code, message, problems);
  }
}
