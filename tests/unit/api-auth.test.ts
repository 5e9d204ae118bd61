import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { MalformedAuthorizationError, requireExpiryFromEnv, signDevToken, tokenFromHeader, verifyToken } from '../../api/auth.ts';
import { ForbiddenError } from '../../shared/errors.ts';

const SECRET = 'auth-test-secret-0123456789abcdef';

describe('API tokens', () => {
  it('signs HS256 tokens carrying the claims, which verify back into the security context', async () => {
    const token = await signDevToken(SECRET, { sub: 'analyst', role: 'analyst' }, { expiresIn: '1h' });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256' });
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(await verifyToken(token, SECRET)).toMatchObject({ sub: 'analyst', role: 'analyst' });
  });

  it('takes the token from "Bearer <jwt>" or the bare jwt, like Cube; any other scheme is a 401', () => {
    expect(tokenFromHeader('abc.def.ghi')).toBe('abc.def.ghi');
    expect(tokenFromHeader('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(tokenFromHeader(['Bearer  xyz'])).toBe('xyz');
    expect(tokenFromHeader('  ')).toBeUndefined();
    expect(tokenFromHeader(undefined)).toBeUndefined();
    for (const header of ['Basic abc.def.ghi', 'bearer abc.def.ghi', 'BEARER abc.def.ghi', 'Bearer a.b.c d.e.f', 'not a token', 'abc']) {
      expect(() => tokenFromHeader(header), header).toThrow(MalformedAuthorizationError);
      try {
        tokenFromHeader(header);
      } catch (error) {
        expect((error as MalformedAuthorizationError).statusCode).toBe(401);
      }
    }
  });

  it('requires exp unless told otherwise, and reads the setting from CRM_API_REQUIRE_EXP', async () => {
    const forever = await new SignJWT({ sub: 'f' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    await expect(verifyToken(forever, SECRET)).rejects.toThrow(/missing required "exp" claim/);
    expect(await verifyToken(forever, SECRET, { requireExpiry: false })).toMatchObject({ sub: 'f' });
    // Verified once without the requirement, still refused with it (the cache honours the setting).
    await expect(verifyToken(forever, SECRET)).rejects.toThrow(/"exp"/);
    expect(requireExpiryFromEnv({})).toBe(true);
    expect(requireExpiryFromEnv({ CRM_API_REQUIRE_EXP: 'false' })).toBe(false);
    expect(requireExpiryFromEnv({ CRM_API_REQUIRE_EXP: 'true' })).toBe(true);
    expect(() => requireExpiryFromEnv({ CRM_API_REQUIRE_EXP: 'sometimes' })).toThrow(/CRM_API_REQUIRE_EXP must be true or false/);
  });

  it('refuses missing, foreign, expired and non-HS256 tokens with a 403 saying why', async () => {
    await expect(verifyToken(undefined, SECRET)).rejects.toThrow("Authorization header isn't set");
    await expect(verifyToken(await signDevToken('some-other-secret-0123456789'), SECRET)).rejects.toThrow(
      /Invalid token: signature verification failed/,
    );
    await expect(verifyToken(await signDevToken(SECRET, {}, { expiresIn: -1 }), SECRET)).rejects.toThrow(
      /"exp" claim timestamp check failed/,
    );
    const hs512 = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET));
    await expect(verifyToken(hs512, SECRET)).rejects.toThrow(/"alg" \(Algorithm\) Header Parameter value not allowed/);
    const error = await verifyToken('junk', SECRET).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).statusCode).toBe(403);
  });

  it('remembers a verified token only while it is valid and only for the secret it was verified with', async () => {
    const token = await signDevToken(SECRET, { sub: 'briefly' }, { expiresIn: 2 });
    expect(await verifyToken(token, SECRET)).toMatchObject({ sub: 'briefly' });
    expect(await verifyToken(token, SECRET)).toMatchObject({ sub: 'briefly' }); // from the cache
    await expect(verifyToken(token, 'a-rotated-secret-0123456789abcdef')).rejects.toThrow(/signature verification failed/);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await expect(verifyToken(token, SECRET)).rejects.toThrow(/"exp" claim timestamp check failed/);
  });
});
