/**
 * The part of a verified token's claims that decides an answer, as canonical text: every claim
 * but those that only time the token (iat, exp, nbf, jti, checked when it was verified), sorted by
 * name, so a refreshed token of the same caller finds its cached answers and any other claim
 * (sub, roles, brands, regions) separates them. Memoised per claims object: the verified-token
 * cache hands the same object out for every request with one token.
 */

const TIMING_CLAIMS = new Set(['iat', 'exp', 'nbf', 'jti']);
const keys = new WeakMap<object, string>();

export function decidingClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(claims)
      .filter(([name]) => !TIMING_CLAIMS.has(name))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

export function claimsKey(claims: Record<string, unknown>): string {
  let key = keys.get(claims);
  if (key === undefined) {
    key = JSON.stringify(decidingClaims(claims));
    keys.set(claims, key);
  }
  return key;
}
