import { ApiError, errorMessage } from '../../shared/errors.ts';
import type { ErrorFields } from './protocol.ts';

/** An error the SQL door answers with: a Postgres SQLSTATE and a message naming the construct. */
export class SqlError extends Error {
  override name = 'SqlError';
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** SQLSTATE for the semantic layer's HTTP-style errors (the same errors /load answers with). */
const STATUS_CODES: Record<number, string> = {
  400: '22023', // invalid_parameter_value: a bad member, operator or value
  401: '28000', // invalid_authorization_specification
  403: '42501', // insufficient_privilege: a forbidden member or scope
  503: '57P03', // cannot_connect_now: warehouse or model unavailable
  504: '57014', // query_canceled: the time limit
};

/**
 * The ErrorResponse fields for an error: SqlError and the layer's own client errors keep their
 * message; anything else is an internal error whose text goes to the log, not to the client.
 */
export function errorFields(error: unknown, log?: (error: unknown) => void): ErrorFields {
  if (error instanceof SqlError) return { code: error.code, message: error.message, ...(error.detail ? { detail: error.detail } : {}) };
  if (error instanceof ApiError && error.statusCode !== 500 && STATUS_CODES[error.statusCode]) {
    return { code: STATUS_CODES[error.statusCode]!, message: error.message };
  }
  log?.(error);
  const reference = error instanceof ApiError ? errorMessage(error).split(':')[0] : 'internal error';
  return { code: 'XX000', message: `the SQL door could not answer (${reference}); details are in the server log` };
}
