import type { FastifyRequest } from 'fastify';
import { tokenFromHeader, verifyToken } from '../auth.ts';
import { ApiError } from '../errors.ts';

/** The roles a decision-support token may carry (the `roles` claim, or `role`), as in the Cube model's access policies. */
export const ROLES = ['executive', 'analyst', 'service_agent', 'engineer', 'marketing'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that may see raw contact points (e-mail, phone, WeChat, QQ); others get dbt's masked columns. */
export const CONTACT_ROLES: readonly Role[] = ['service_agent', 'marketing'];

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
  claims: Record<string, unknown>;
  /** May this caller see raw contact points? */
  seesContacts: boolean;
}

function rolesOf(claims: Record<string, unknown>): Role[] {
  const raw = Array.isArray(claims.roles) ? claims.roles : claims.role !== undefined ? [claims.role] : [];
  const unknown = raw.filter((r) => typeof r !== 'string' || !(ROLES as readonly string[]).includes(r));
  if (unknown.length) throw new RoleForbiddenError(`Unknown role ${unknown.map((r) => JSON.stringify(r)).join(', ')} in the token: roles are ${ROLES.join(', ')}`);
  return raw as Role[];
}

/** Verifies the Authorization header (HS256, the API secret) and returns the caller, or throws 401/403. */
export async function authenticate(request: FastifyRequest, secret: string): Promise<Caller> {
  const token = tokenFromHeader(request.headers.authorization);
  if (!token) throw new UnauthorizedError('Authorization header is missing: send "Authorization: Bearer <JWT>"');
  let claims: Record<string, unknown>;
  try {
    // The shared verified-token cache (until the token expires): the HMAC was a large share of a cached request's CPU.
    claims = await verifyToken(token, secret);
  } catch (error) {
    // verifyToken says "Invalid token: <jose's reason>", the message this API has always given.
    throw new UnauthorizedError(error instanceof Error ? error.message : String(error), { cause: error instanceof Error ? error.cause : error });
  }
  const roles = rolesOf(claims);
  const id = typeof claims.sub === 'string' && claims.sub ? `sub:${claims.sub}` : `token:${token.slice(-24)}`;
  return { id, roles, claims, seesContacts: roles.some((r) => CONTACT_ROLES.includes(r)) };
}

/** Throws 403 naming the endpoint, the roles it needs and the caller's roles. */
export function requireRole(caller: Caller, allowed: readonly Role[], what: string): void {
  if (caller.roles.some((r) => allowed.includes(r))) return;
  throw new RoleForbiddenError(`${what} needs one of the roles [${allowed.join(', ')}]; this token has [${caller.roles.join(', ')}]`);
}
