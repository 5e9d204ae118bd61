import type { FastifyRequest } from 'fastify';
import { tokenFromHeader, verifyToken } from '../auth.ts';
import { ApiError } from '../../shared/errors.ts';
import { KNOWN_ROLES, accessContextFromToken, type AccessContext, type Role } from '../../semantic/access-control.ts';

/** The roles a token may carry: the Cube model's groups (semantic/access-control.ts), one list. */
export const ROLES = KNOWN_ROLES;
export type { Role };

/** No token, or one that does not verify: who is calling is unknown (401). */
export class UnauthorizedError extends ApiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(401, message, options);
    this.name = 'UnauthorizedError';
  }
}

/** The caller is known but the role does not allow this (403). */
export class RoleForbiddenError extends ApiError {
  constructor(message: string) {
    super(403, message);
    this.name = 'RoleForbiddenError';
  }
}

export interface Caller {
  /** Who the limit counts against: the token's subject, else the token itself. */
  id: string;
  roles: Role[];
  /** The verified claims as the model's access policies read them (roles, brands, regions normalised once). */
  access: AccessContext;
}

export interface AuthenticateOptions {
  /** Refuse tokens without `exp` (default true). */
  requireExpiry?: boolean;
}

/**
 * Verifies the Authorization header (HS256, the API secret) and checks the access claims the same
 * way the Cube path does (accessContextFromClaims): returns the caller, or throws 401/403.
 */
export async function authenticate(request: FastifyRequest, secret: string, options: AuthenticateOptions = {}): Promise<Caller> {
  const token = tokenFromHeader(request.headers.authorization);
  if (!token) throw new UnauthorizedError('Authorization header is missing: send "Authorization: Bearer <JWT>"');
  let claims: Record<string, unknown>;
  try {
    // The shared verified-token cache (until the token expires): the HMAC was a large share of a cached request's CPU.
    claims = await verifyToken(token, secret, options);
  } catch (error) {
    // verifyToken says "Invalid token: <jose's reason>", the message this API has always given.
    throw new UnauthorizedError(error instanceof Error ? error.message : String(error), {
      cause: error instanceof Error ? error.cause : error,
    });
  }
  const access = accessContextFromToken(claims);
  const id = typeof claims.sub === 'string' && claims.sub ? `sub:${claims.sub}` : `token:${token.slice(-24)}`;
  return { id, roles: access.roles, access };
}

/** Throws 403 naming the endpoint, the roles it needs and the caller's roles. */
export function requireRole(caller: Caller, allowed: readonly Role[], what: string): void {
  if (caller.roles.some((r) => allowed.includes(r))) return;
  throw new RoleForbiddenError(`${what} needs one of the roles [${allowed.join(', ')}]; this token has [${caller.roles.join(', ')}]`);
}
