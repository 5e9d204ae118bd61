/**
 * Errors the API answers with, each carrying its HTTP status. Everything else that escapes a route
 * is an internal error (500) whose details go to the log, not to the client.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

/** The request is wrong: malformed JSON, an invalid query, an unknown member (Cube answers 400). */
export class BadRequestError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options);
    this.name = 'BadRequestError';
  }
}

/** Missing or invalid credentials (Cube answers 403 for both). */
export class ForbiddenError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(403, message, options);
    this.name = 'ForbiddenError';
  }
}

/** The warehouse or the semantic model cannot serve right now (missing file, model that does not compile). */
export class UnavailableError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, options);
    this.name = 'UnavailableError';
  }
}

/** Cube's compiler signals a mistake in the query with a UserError (type 'UserError'): map it to 400. */
export function isCubeUserError(error: unknown): error is Error {
  return error instanceof Error && (error as { type?: unknown }).type === 'UserError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
