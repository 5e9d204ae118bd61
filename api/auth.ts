import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { ForbiddenError } from './errors.ts';

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

/** Takes the token out of an Authorization header value; like Cube, the scheme word is optional. */
export function tokenFromHeader(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parts = value.trim().split(/\s+/);
  return parts.length === 1 ? parts[0] : parts[1];
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

/**
 * Verifies the token and returns its claims, or throws ForbiddenError (403) naming why: Cube answers
 * 403 both when the header is missing and when the token does not verify.
 */
export async function verifyToken(token: string | undefined, secret: string): Promise<SecurityContext> {
  if (!token) throw new ForbiddenError("Authorization header isn't set");
  const cached = verifiedTokens.get(token);
  if (cached && cached.secret === secret && cached.until > Date.now()) return cached.claims;
  try {
    const { payload } = await jwtVerify(token, secretKey(secret), { algorithms: [ALGORITHM] });
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
export async function signDevToken(
  secret: string,
  claims: Record<string, unknown> = {},
  options: DevTokenOptions = {},
): Promise<string> {
  const expiresIn = options.expiresIn ?? '7d';
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn)
    .sign(secretKey(secret));
}
