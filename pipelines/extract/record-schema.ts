import { z } from 'zod';
import { sqlRule, type SqlRule } from './sql-checks.ts';

/**
 * One definition per record type gives both the zod validator and the raw table's columns, so the
 * validation rules and the warehouse types cannot drift apart.
 */
export type RawColumnType = 'VARCHAR' | 'INTEGER' | 'DECIMAL(18,2)' | 'DECIMAL(18,4)' | 'TIMESTAMPTZ' | 'BOOLEAN' | 'DOUBLE';

export interface FieldSpec {
  schema: z.ZodType<string | number | boolean | null>;
  type: RawColumnType;
  /**
   * The same rule as SQL, for the bulk load path that validates inside DuckDB (see sql-checks.ts):
   * built beside the zod rule by the same `field.*` helper, so the two cannot drift apart.
   */
  sql?: SqlRule;
}

const emptyToNull = (value: unknown) => (value === '' || value === undefined ? null : value);
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/;

const TIMESTAMP_MESSAGES = { format: 'expected an ISO 8601 timestamp with a time zone', real: 'not a real date and time' };
const MONEY_PATTERN = /^-?\d{1,15}(\.\d{1,2})?$/;
const MONEY_MESSAGE = 'expected an amount with at most 2 decimals';
// Unit prices: up to 4 decimals (real shops sell at 0.001), 14 integer digits so DECIMAL(18,4) holds any.
const PRICE_PATTERN = /^-?\d{1,14}(\.\d{1,4})?$/;
const PRICE_MESSAGE = 'expected a price with at most 4 decimals';
const NEGATIVE_MESSAGE = 'must not be negative';

/**
 * ISO 4217 currency codes in use (list one, 2025: funds and precious-metal codes included, the
 * testing code XTS and "no currency" XXX left out). Upper case, exactly three letters.
 */
export const ISO_4217_CURRENCIES: readonly string[] = (
  'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD ' +
  'CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL ' +
  'GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD ' +
  'KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO ' +
  'NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD ' +
  'SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV ' +
  'WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG'
).split(' ');
const CURRENCY_MESSAGE = 'not an ISO 4217 currency code (three capital letters, e.g. CNY, USD, GBP)';
const CURRENCY_SET = new Set(ISO_4217_CURRENCIES);

const timestamp = z
  .string()
  .regex(ISO_WITH_ZONE, TIMESTAMP_MESSAGES.format)
  .refine((text) => !Number.isNaN(Date.parse(text)), TIMESTAMP_MESSAGES.real)
  // Normalised to UTC so DuckDB, Spark or any engine reads the same instant.
  .transform((text) => new Date(text).toISOString());

const decimalText = (pattern: RegExp, message: string) =>
  z
    .union([z.string(), z.number()])
    .transform((value) => String(value).trim())
    .pipe(z.string().regex(pattern, message));
const money = decimalText(MONEY_PATTERN, MONEY_MESSAGE);
const price = decimalText(PRICE_PATTERN, PRICE_MESSAGE);

/** Field builders: each returns the zod rule and the column type it loads into. */
export const field = {
  id: (): FieldSpec => ({ schema: z.string().trim().min(1, 'required'), type: 'VARCHAR', sql: sqlRule.requiredText() }),
  text: (): FieldSpec => ({ schema: z.preprocess(emptyToNull, z.string().nullable()), type: 'VARCHAR', sql: sqlRule.text() }),
  requiredText: (): FieldSpec => ({ schema: z.string().trim().min(1, 'required'), type: 'VARCHAR', sql: sqlRule.requiredText() }),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T): FieldSpec => ({
    schema: z.enum(values),
    type: 'VARCHAR',
    sql: sqlRule.oneOf(values, false),
  }),
  optionalOneOf: <const T extends readonly [string, ...string[]]>(values: T): FieldSpec => ({
    schema: z.preprocess(emptyToNull, z.enum(values).nullable()),
    type: 'VARCHAR',
    sql: sqlRule.oneOf(values, true),
  }),
  /** An ISO 4217 currency code (ISO_4217_CURRENCIES); anything else is rejected with CURRENCY_MESSAGE. */
  currency: (): FieldSpec => ({
    schema: z.string().refine((code) => CURRENCY_SET.has(code), CURRENCY_MESSAGE),
    type: 'VARCHAR',
    sql: sqlRule.listed(ISO_4217_CURRENCIES, CURRENCY_MESSAGE, false),
  }),
  /** field.currency(), or empty (null): a record that may take its currency from elsewhere (a refund from its order). */
  optionalCurrency: (): FieldSpec => ({
    schema: z.preprocess(
      emptyToNull,
      z
        .string()
        .refine((code) => CURRENCY_SET.has(code), CURRENCY_MESSAGE)
        .nullable(),
    ),
    type: 'VARCHAR',
    sql: sqlRule.listed(ISO_4217_CURRENCIES, CURRENCY_MESSAGE, true),
  }),
  email: (): FieldSpec => ({
    schema: z.preprocess(emptyToNull, z.email('not a valid e-mail address').nullable()),
    type: 'VARCHAR',
    sql: sqlRule.email(z.regexes.email.source, 'not a valid e-mail address'),
  }),
  timestamp: (): FieldSpec => ({
    schema: timestamp,
    type: 'TIMESTAMPTZ',
    sql: sqlRule.timestamp(ISO_WITH_ZONE.source, TIMESTAMP_MESSAGES, false),
  }),
  optionalTimestamp: (): FieldSpec => ({
    schema: z.preprocess(emptyToNull, timestamp.nullable()),
    type: 'TIMESTAMPTZ',
    sql: sqlRule.timestamp(ISO_WITH_ZONE.source, TIMESTAMP_MESSAGES, true),
  }),
  money: (): FieldSpec => ({ schema: money, type: 'DECIMAL(18,2)', sql: sqlRule.money(MONEY_PATTERN.source, MONEY_MESSAGE, false) }),
  nonNegativeMoney: (): FieldSpec => ({
    schema: money.refine((text) => !text.startsWith('-'), NEGATIVE_MESSAGE),
    type: 'DECIMAL(18,2)',
    sql: sqlRule.money(MONEY_PATTERN.source, MONEY_MESSAGE, NEGATIVE_MESSAGE),
  }),
  /**
   * A non-negative unit price with up to 4 decimals, stored exactly (DECIMAL(18,4)); amounts are
   * rounded to cents only where they are summed into money (docs/dbt-models.md, rounding rule).
   */
  price: (): FieldSpec => ({
    schema: price.refine((text) => !text.startsWith('-'), NEGATIVE_MESSAGE),
    type: 'DECIMAL(18,4)',
    sql: sqlRule.price(PRICE_PATTERN.source, PRICE_MESSAGE, NEGATIVE_MESSAGE),
  }),
  integer: (min: number, max: number): FieldSpec => ({
    schema: z.coerce.number().int().min(min).max(max),
    type: 'INTEGER',
    sql: sqlRule.integer(min, max, false),
  }),
  optionalInteger: (min: number, max: number): FieldSpec => ({
    schema: z.preprocess(emptyToNull, z.coerce.number().int().min(min).max(max).nullable()),
    type: 'INTEGER',
    sql: sqlRule.integer(min, max, true),
  }),
  boolean: (): FieldSpec => ({
    schema: z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]),
    type: 'BOOLEAN',
    sql: sqlRule.boolean(false),
  }),
  optionalBoolean: (): FieldSpec => ({
    schema: z.preprocess(
      emptyToNull,
      z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]).nullable(),
    ),
    type: 'BOOLEAN',
    sql: sqlRule.boolean(true),
  }),
};

export interface RecordSpec {
  /** Raw table name under the `raw` schema. */
  table: string;
  /** Natural key columns: re-loads upsert on these. */
  key: readonly string[];
  /** Column whose newest value wins when the same key arrives more than once. */
  version?: string;
  fields: Readonly<Record<string, FieldSpec>>;
}

export function defineRecord<const S extends RecordSpec>(spec: S) {
  const shape = Object.fromEntries(Object.entries(spec.fields).map(([name, f]) => [name, f.schema]));
  return { ...spec, validator: z.object(shape) };
}

export type DefinedRecord = ReturnType<typeof defineRecord>;

/** Reason text for a rejected record: every failing field with zod's message and the value it got. */
export function describeIssues(error: z.ZodError, fields: Record<string, unknown>): string {
  return error.issues
    .map((issue) => {
      const name = issue.path.length > 0 ? issue.path.join('.') : 'record';
      const value = issue.path.length === 1 ? fields[String(issue.path[0])] : undefined;
      const got = value === undefined ? ' (missing)' : ` (got ${JSON.stringify(value).slice(0, 80)})`;
      return `${name}: ${issue.message}${got}`;
    })
    .join('; ');
}
