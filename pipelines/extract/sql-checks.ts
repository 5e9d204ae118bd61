/**
 * The SQL form of each `field.*` rule in record-schema.ts, for the bulk load path that reads a file
 * with DuckDB's own reader and validates inside DuckDB. Each rule mirrors its zod twin: the same
 * checks in the same order, the same messages, and the same normalised output (as text), so a
 * record is rejected for the same reason and stored with the same value whichever path loads it.
 * The builders are called from the `field.*` helpers next to the zod rule, so the two cannot drift.
 */

/** SQL expressions describing one field of the record being checked. */
export interface SqlInput {
  /** The value as text (JSON numbers and booleans as their text); NULL when missing or JSON null. */
  text: string;
  /**
   * What zod would have received, named as zod names it in messages: 'string' | 'number' |
   * 'boolean' | 'null' | 'object' | 'array'; SQL NULL when the field is missing (undefined).
   */
  kind: string;
  /** JSON rendering of the value for the "(got ...)" part of a reason (as JSON.stringify). */
  json: string;
}

export interface SqlRule {
  /**
   * An expression computed once per row (e.g. the trimmed text, the number, the normalised
   * timestamp) that the checks and the value below refer to as `d`, instead of repeating it.
   */
  derive?(input: SqlInput): string;
  /** One SQL VARCHAR expression per zod check, in zod's order: the check's message or NULL. */
  issues(input: SqlInput, d?: string): string[];
  /** SQL VARCHAR expression: the value as the zod rule outputs it (meaningful for valid rows). */
  value(input: SqlInput, d?: string): string;
  /**
   * The same value already in the raw column's type, when that is cheaper than casting the text
   * (a timestamp is parsed once, not formatted and parsed again). Must never raise (TRY_ casts):
   * DuckDB may evaluate it for invalid rows too. Without it: TRY_CAST(value AS type).
   */
  typed?(input: SqlInput, d?: string): string;
}

/** The characters JavaScript's String.prototype.trim removes (zod's .trim() and Number() use it). */
export const JS_WHITESPACE =
  ' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

export const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
/** JavaScript's trim(); the common case (no space at either end) skips the costly character-set trim. */
export const jsTrim = (expr: string) =>
  `(CASE WHEN ascii(${expr}) BETWEEN 33 AND 126 AND ascii(right(${expr}, 1)) BETWEEN 33 AND 126 THEN ${expr} ELSE trim(${expr}, ${sqlString(JS_WHITESPACE)}) END)`;
/** zod's preprocess(emptyToNull): undefined, null and '' all become null. */
const isEmpty = (i: SqlInput) => `(${i.kind} IS NULL OR ${i.kind} = 'null' OR (${i.kind} = 'string' AND ${i.text} = ''))`;
/**
 * Membership in a list of constants. Not `IN (...)`: DuckDB plans a long IN list as a join, and a
 * join in the bulk path's insert would lose the file order its line numbers rely on.
 */
const inList = (expr: string, values: readonly string[]) => `list_contains([${values.map(sqlString).join(', ')}], ${expr})`;
const expectedString = (i: SqlInput) => `'Invalid input: expected string, received ' || coalesce(${i.kind}, 'undefined')`;

export const sqlRule = {
  requiredText: (message = 'required'): SqlRule => ({
    derive: (i) => jsTrim(i.text),
    issues: (i, d = jsTrim(i.text)) => [
      `CASE WHEN ${i.kind} IS DISTINCT FROM 'string' THEN ${expectedString(i)} WHEN ${d} = '' THEN ${sqlString(message)} END`,
    ],
    value: (i, d = jsTrim(i.text)) => d,
  }),

  text: (): SqlRule => ({
    issues: (i) => [`CASE WHEN ${isEmpty(i)} THEN NULL WHEN ${i.kind} <> 'string' THEN ${expectedString(i)} END`],
    value: (i) => `nullif(${i.text}, '')`,
  }),

  oneOf: (values: readonly string[], optional: boolean): SqlRule => {
    const message = `Invalid option: expected one of ${values.map((v) => JSON.stringify(v)).join('|')}`;
    return {
      issues: (i) => [
        `CASE WHEN ${optional ? `${isEmpty(i)} OR ` : ''}(${i.kind} = 'string' AND ${inList(i.text, values)}) THEN NULL ELSE ${sqlString(message)} END`,
      ],
      value: (i) => (optional ? `nullif(${i.text}, '')` : i.text),
    };
  },

  /** A string from a long list (z.string().refine(in list)): one message instead of naming every value; optional: empty is null. */
  listed: (values: readonly string[], message: string, optional: boolean): SqlRule => ({
    issues: (i) => [
      `CASE WHEN ${optional ? `${isEmpty(i)} THEN NULL WHEN ` : ''}${i.kind} IS DISTINCT FROM 'string' THEN ${expectedString(i)} WHEN NOT ${inList(i.text, values)} THEN ${sqlString(message)} END`,
    ],
    value: (i) => (optional ? `nullif(${i.text}, '')` : i.text),
  }),

  email: (pattern: string, message: string): SqlRule => ({
    issues: (i) => [
      `CASE WHEN ${isEmpty(i)} THEN NULL WHEN ${i.kind} <> 'string' THEN ${expectedString(i)} WHEN NOT regexp_full_match(${i.text}, ${sqlString(pattern)}) THEN ${sqlString(message)} END`,
    ],
    value: (i) => `nullif(${i.text}, '')`,
  }),

  timestamp: (pattern: string, messages: { format: string; real: string }, optional: boolean): SqlRule => {
    // d is the instant as TIMESTAMPTZ (what new Date(text) holds, milliseconds), NULL when Date.parse says NaN.
    const text = (d: string) => `strftime(${d} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`;
    return {
      derive: (i) => sqlInstant(i.text),
      issues: (i, iso = sqlInstant(i.text)) => {
        const skip = optional ? `${isEmpty(i)} OR ` : '';
        const formatOk = `regexp_full_match(${i.text}, ${sqlString(pattern)})`;
        // JavaScript's Date.parse also accepts some non-ISO text; DuckDB's casts stand in for it there.
        const parses = `CASE WHEN ${formatOk} THEN ${iso} IS NOT NULL ELSE (TRY_CAST(${i.text} AS TIMESTAMPTZ) IS NOT NULL OR TRY_CAST(${i.text} AS DATE) IS NOT NULL) END`;
        return [
          `CASE WHEN ${skip}FALSE THEN NULL WHEN ${i.kind} IS DISTINCT FROM 'string' THEN ${expectedString(i)} WHEN NOT ${formatOk} THEN ${sqlString(messages.format)} END`,
          `CASE WHEN ${skip}${i.kind} IS DISTINCT FROM 'string' THEN NULL WHEN NOT (${parses}) THEN ${sqlString(messages.real)} END`,
        ];
      },
      value: (i, iso = sqlInstant(i.text)) => (optional ? `CASE WHEN ${i.text} <> '' THEN ${text(iso)} END` : text(iso)),
      typed: (i, iso = sqlInstant(i.text)) => (optional ? `CASE WHEN ${i.text} <> '' THEN ${iso} END` : iso),
    };
  },

  money: (pattern: string, message: string, negativeMessage: string | false): SqlRule => ({
    derive: (i) => jsTrim(i.text),
    issues: (i, d = jsTrim(i.text)) => {
      const ok = inList(i.kind, ['string', 'number']);
      return [
        `CASE WHEN ${ok} IS NOT TRUE THEN 'Invalid input' WHEN NOT regexp_full_match(${d}, ${sqlString(pattern)}) THEN ${sqlString(message)} END`,
        ...(negativeMessage ? [`CASE WHEN ${ok} AND starts_with(${d}, '-') THEN ${sqlString(negativeMessage)} END`] : []),
      ];
    },
    value: (i, d = jsTrim(i.text)) => d,
  }),

  /** field.price(): the money rule with the price pattern (up to 4 decimals); the same checks and value. */
  price: (pattern: string, message: string, negativeMessage: string | false): SqlRule => sqlRule.money(pattern, message, negativeMessage),

  integer: (min: number, max: number, optional: boolean): SqlRule => {
    // z.coerce.number(): JavaScript's Number() of the value.
    const number = (i: SqlInput) => `(CASE ${i.kind}
      WHEN 'string' THEN CASE WHEN ${jsTrim(i.text)} = '' THEN 0::DOUBLE ELSE TRY_CAST(${jsTrim(i.text)} AS DOUBLE) END
      WHEN 'number' THEN TRY_CAST(${i.text} AS DOUBLE)
      WHEN 'boolean' THEN CASE WHEN ${i.text} = 'true' THEN 1::DOUBLE ELSE 0::DOUBLE END
      WHEN 'null' THEN 0::DOUBLE END)`;
    const skip = (i: SqlInput) => (optional ? `${isEmpty(i)} OR ` : '');
    return {
      derive: number,
      issues: (i, d = number(i)) => {
        const n = () => d;
        const finite = () => `(${d} IS NOT NULL AND NOT isnan(${d}) AND NOT isinf(${d}))`;
        return [
          `CASE WHEN ${skip(i)}FALSE THEN NULL WHEN ${n()} IS NULL OR isnan(${n()}) THEN 'Invalid input: expected number, received NaN'
              WHEN isinf(${n()}) THEN 'Invalid input: expected number, received ' || CASE WHEN ${n()} > 0 THEN 'Infinity' ELSE '-Infinity' END END`,
          `CASE WHEN ${skip(i)}NOT ${finite()} THEN NULL WHEN ${n()} <> floor(${n()}) THEN 'Invalid input: expected int, received number' END`,
          `CASE WHEN ${skip(i)}NOT ${finite()} THEN NULL WHEN ${n()} < ${min} THEN 'Too small: expected number to be >=${min}' END`,
          `CASE WHEN ${skip(i)}NOT ${finite()} THEN NULL WHEN ${n()} > ${max} THEN 'Too big: expected number to be <=${max}' END`,
        ];
      },
      value: (i, d = number(i)) => `CASE WHEN ${skip(i)}FALSE THEN NULL ELSE TRY_CAST(TRY_CAST(${d} AS BIGINT) AS VARCHAR) END`,
    };
  },

  boolean: (optional: boolean): SqlRule => ({
    issues: (i) => [
      `CASE WHEN ${optional ? `${isEmpty(i)} OR ` : ''}${i.kind} = 'boolean' OR (${i.kind} = 'string' AND ${inList(i.text, ['true', 'false', '1', '0'])}) THEN NULL ELSE 'Invalid input' END`,
    ],
    value: (i) => `CASE WHEN ${inList(i.text, ['true', '1'])} THEN 'true' WHEN ${inList(i.text, ['false', '0'])} THEN 'false' END`,
  }),
};

/**
 * An ISO 8601 timestamp with a zone as the instant JavaScript's `new Date(text)` holds (TIMESTAMPTZ,
 * truncated to milliseconds as toISOString() shows it), or NULL when Date.parse would say NaN.
 * DuckDB's cast handles the usual case; the component path covers what Date.parse accepts and the
 * cast does not (a +0800 offset without a colon, 24:00, day 31 of a 30-day month, which JavaScript
 * rolls over into the next month). No ICU call on the usual path: whole milliseconds pass as cast.
 */
function sqlInstant(text: string): string {
  const cast = `TRY_CAST(${text} AS TIMESTAMPTZ)`;
  const ms = `TRY_CAST(strftime(${cast} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS TIMESTAMPTZ)`;
  // CASE (not coalesce) so the component path only runs for the rows the cast rejected.
  return `(CASE WHEN ${cast} IS NOT NULL THEN CASE WHEN epoch_us(${cast}) % 1000 = 0 THEN ${cast} ELSE ${ms} END ELSE TRY_CAST(${componentTimestamp(text)} AS TIMESTAMPTZ) END)`;
}

/** The component path of sqlInstant as UTC text (what Date.parse makes of text the cast rejects), or NULL. */
function componentTimestamp(text: string): string {
  const parts = `regexp_extract(${text}, '^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,6}))?)?(?:Z|([+-])(\\d{2}):?(\\d{2}))$', ['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'sg', 'zh', 'zm'])`;
  const num = (name: string) => `TRY_CAST(nullif(${parts}.${name}, '') AS INTEGER)`;
  const s = `coalesce(${num('s')}, 0)`;
  const ms = `coalesce(TRY_CAST(nullif(rpad(left(${parts}.f, 3), 3, '0'), '000') AS INTEGER), 0)`;
  const frac = `coalesce(TRY_CAST(nullif(${parts}.f, '') AS INTEGER), 0)`;
  const offset = `(CASE WHEN ${parts}.sg = '-' THEN -1 ELSE 1 END) * (coalesce(${num('zh')}, 0) * 60 + coalesce(${num('zm')}, 0))`;
  const valid = `${num('mo')} BETWEEN 1 AND 12 AND ${num('d')} BETWEEN 1 AND 31 AND ${num('mi')} <= 59 AND ${s} <= 59
    AND (${num('h')} <= 23 OR (${num('h')} = 24 AND ${num('mi')} = 0 AND ${s} = 0 AND ${frac} = 0))
    AND coalesce(${num('zh')}, 0) <= 23 AND coalesce(${num('zm')}, 0) <= 59`;
  return `CASE WHEN ${valid} THEN strftime(make_timestamp(${num('y')}, ${num('mo')}, 1, 0, 0, 0)
      + to_days(${num('d')} - 1) + to_hours(${num('h')}) + to_minutes(${num('mi')} - ${offset}) + to_seconds(${s}) + to_milliseconds(${ms}),
      '%Y-%m-%dT%H:%M:%S.%gZ') END`;
}

/**
 * The checks of a whole record as SQL, in two projections: `derived` (select items named _d0, _d1,
 * ... computed once per row from the input expressions) and, over them, `reason` (NULL for a valid
 * record, otherwise every failing field's message with the value it got, worded exactly as
 * describeIssues words zod's issues), `values` (the normalised values as text, in field order) and
 * `typed` (the same values in each field's raw column type, never raising for invalid rows).
 */
export function recordSql(
  fields: readonly (readonly [string, { sql?: SqlRule; type?: string }])[],
  inputFor: (name: string) => SqlInput,
): { derived: string[]; reason: string; values: string[]; typed: string[] } {
  const derived: string[] = [];
  const checks: string[] = [];
  const messages: string[] = [];
  const values: string[] = [];
  const typed: string[] = [];
  for (const [name, spec] of fields) {
    if (!spec.sql) throw new Error(`field ${name} has no SQL form: the bulk path cannot validate it`);
    const input = inputFor(name);
    let d = 'NULL';
    if (spec.sql.derive) {
      d = `_d${derived.length}`;
      derived.push(`${spec.sql.derive(input)} AS ${d}`);
    }
    const got = `CASE WHEN ${input.kind} IS NULL THEN ' (missing)' ELSE ' (got ' || left(${input.json}, 80) || ')' END`;
    for (const issue of spec.sql.issues(input, d)) {
      checks.push(issue);
      messages.push(`${sqlString(`${name}: `)} || (${issue}) || ${got}`);
    }
    const value = spec.sql.value(input, d);
    values.push(value);
    const type = spec.type ?? 'VARCHAR';
    typed.push(spec.sql.typed ? spec.sql.typed(input, d) : type === 'VARCHAR' ? value : `TRY_CAST(${value} AS ${type})`);
  }
  // The wording (with the value each field got) is only built for the few rows that fail.
  const reason = `CASE WHEN ${checks.map((c) => `(${c}) IS NULL`).join(' AND ')} THEN NULL ELSE nullif(concat_ws('; ', ${messages.join(',\n ')}), '') END`;
  return { derived, reason, values, typed };
}
