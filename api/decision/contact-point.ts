/**
 * A contact point typed into a lookup, normalised the way dbt normalises the stored ones
 * (macros/contact_points.sql: normalize_email, normalize_phone, normalize_handle), so the lookup
 * compares like with like against marts.dim_customer_contact_points. This is the one TypeScript
 * copy of those rules; tests/unit/contact-point.test.ts runs it over the dbt unit test's own
 * fixtures (tests/dbt/fixtures/contact_points_*.csv), so the two cannot drift apart unnoticed.
 */
export type ContactPointType = 'email' | 'phone' | 'wechat' | 'qq';

/** SQL's trim(): spaces only, not tabs or newlines. */
const trim = (value: string) => value.replace(/^ +| +$/g, '');

/** E-mail: trimmed, lower case; anything without an '@' followed by a dot is no e-mail (null). */
export function normalizeEmail(value: string): string | null {
  const text = trim(value).toLowerCase();
  // SQL: lower(trim(x)) like '%_@_%._%'
  return /^[\s\S]+@[\s\S]+\.[\s\S]+$/.test(text) ? text : null;
}

/**
 * Phone as national digits: every non-digit dropped; a +86 / (+86) / 0086 prefix or a 13-digit
 * 86... number loses its Chinese country code, a +1 / (+1) prefix its North American one. Fewer
 * than 7 digits is no phone (null).
 */
export function normalizePhone(value: string): string | null {
  const trimmed = trim(value);
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length < 7) return null;
  if (trimmed.startsWith('+86') || trimmed.startsWith('(+86)') || trimmed.startsWith('0086')) {
    return digits.slice(trimmed.startsWith('0086') ? 4 : 2);
  }
  if (trimmed.startsWith('+1') || trimmed.startsWith('(+1)')) return digits.slice(1);
  if (digits.length === 13 && digits.startsWith('86')) return digits.slice(-11);
  return digits;
}

/** WeChat / QQ ids: trimmed, lower case; empty is null. */
export function normalizeHandle(value: string): string | null {
  const text = trim(value).toLowerCase();
  return text === '' ? null : text;
}

export function normalizeContactPoint(type: ContactPointType, value: string): string | null {
  switch (type) {
    case 'email':
      return normalizeEmail(value);
    case 'phone':
      return normalizePhone(value);
    default:
      return normalizeHandle(value);
  }
}
