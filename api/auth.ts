import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { ApiError, ForbiddenError } from '../shared/errors.ts';
import { envValue } from '../shared/env.ts';

/**
 * JWT authentication the way Cube's API gateway does it: the token travels in the Authorization
 * header (or x-cube-authorization), raw or as "Bearer <token>", signed with HS256 and the shared API
 * secret. The verified claims become the request's security context.
 */

export type SecurityContext = JWTPayload & Record<string, unknown>;

const ALGORITHM = 'HS256';

function secretKey(secret: string): Uint8Array {
  if (!secret) throw new Error('the JWT secret is empty');
  return new TextEncoder().encode(secret);
}

/** The Authorization header is there but is neither "Bearer <JWT>" nor the bare JWT (401 on every path). */
export class MalformedAuthorizationError extends ApiError {
  constructor() {
    super(401, 'Authorization header must be "Bearer <JWT>" (that spelling) or the bare JWT; other schemes are not accepted');
    this.name = 'MalformedAuthorizationError';
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Takes the token out of an Authorization header value: "Bearer <token>" or the bare token, Cube's
 * own convention. Absent or blank: undefined; any other scheme (Basic, lower-case bearer, two
 * tokens): MalformedAuthorizationError.
 */
export function tokenFromHeader(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const trimmed = value.trim();
  const bearer = /^Bearer +(\S+)$/.exec(trimmed);
  if (bearer) return bearer[1];
  if (!/\s/.test(trimmed) && JWT_SHAPE.test(trimmed)) return trimmed;
  throw new MalformedAuthorizationError();
}

/**
 * Tokens already verified, so a dashboard's burst of requests with one token pays the HMAC and
 * key import once: kept until the token expires (at most 5 minutes, so a rotated secret or a
 * token without `exp` is re-checked soon), bounded in number. Only successes are cached.
 */
const verifiedTokens = new Map<string, { secret: string; claims: SecurityContext; until: number }>();
const MAX_CACHED_TOKENS = 1_000;
const MAX_CACHE_MS = 5 * 60_000;

function remember(token: string, secret: string, claims: SecurityContext): void {
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Number.POSITIVE_INFINITY;
  const until = Math.min(expiresAt, Date.now() + MAX_CACHE_MS);
  // nbf in the future never verifies, so it is never cached; exp is honoured by `until`.
  if (verifiedTokens.size >= MAX_CACHED_TOKENS) verifiedTokens.delete(verifiedTokens.keys().next().value!);
  verifiedTokens.set(token, { secret, claims, until });
}

export interface VerifyOptions {
  /** Refuse tokens without an `exp` claim (they would never expire); default true. */
  requireExpiry?: boolean;
}

/** Whether tokens must carry `exp`: CRM_API_REQUIRE_EXP=false turns it off (default on). */
export function requireExpiryFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = envValue('CRM_API_REQUIRE_EXP', env)?.toLowerCase();
  if (value === undefined || value === '') return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  throw new Error(`CRM_API_REQUIRE_EXP must be true or false, got "${value}"`);
}

/**
 * Verifies the token and returns its claims, or throws ForbiddenError (403) naming why: Cube answers
 * 403 both when the header is missing and when the token does not verify.
 */
export async function verifyToken(token: string | undefined, secret: string, options: VerifyOptions = {}): Promise<SecurityContext> {
  if (!token) throw new ForbiddenError("Authorization header isn't set");
  const requireExpiry = options.requireExpiry ?? true;
  const cached = verifiedTokens.get(token);
  if (cached && cached.secret === secret && cached.until > Date.now() && (!requireExpiry || typeof cached.claims.exp === 'number'))
    return cached.claims;
  try {
    const { payload } = await jwtVerify(token, secretKey(secret), {
      algorithms: [ALGORITHM],
      ...(requireExpiry ? { requiredClaims: ['exp'] } : {}),
    });
    remember(token, secret, payload as SecurityContext);
    return payload as SecurityContext;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ForbiddenError(`Invalid token: ${reason}`, { cause: error });
  }
}

export interface DevTokenOptions {
  /** Lifetime as a jose time span ('7d', '2h') or seconds; default 7 days. */
  expiresIn?: string | number;
}

/**
 * Signs a token the API accepts, for local use (quick start, tests, curl). Claims become the
 * security context; production tokens come from whatever identity service holds the same secret.
 */
export async function signDevToken(secret: string, claims: Record<string, unknown> = {}, options: DevTokenOptions = {}): Promise<string> {
  const expiresIn = options.expiresIn ?? '7d';
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
    .sign(secretKey(secret));
}
