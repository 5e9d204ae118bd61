import { z } from 'zod';

/**
 * Request and response schemas of the decision-support API. They validate input (a 400 names each
 * failing field and the reason), coerce the warehouse's values in responses, and generate the
 * OpenAPI document (openapi.ts), so the document cannot drift from what the server checks.
 */

/** A calendar date YYYY-MM-DD that exists (2025-02-30 does not), years 1000-9999. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((text) => {
    const [y, m, d] = text.split('-').map(Number) as [number, number, number];
    const date = new Date(Date.UTC(y, m - 1, d));
    return y >= 1000 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  }, 'is not a calendar date (YYYY-MM-DD, years 1000-9999)');
/** A whole number written in decimal digits (no 0x10, 1e3 or 16.0), within [min, max]. */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,16}$/, `must be a whole number in decimal digits, ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
/** A decimal number (no hex, no exponent beyond what a sum of money needs), within [min, max]. */
const decimalNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,15}(\.\d{1,6})?$/, `must be a decimal number, ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const num = z.coerce.number();
// null first: z.coerce.number() would turn null into 0.
const nullableNum = z.union([z.null(), num]);
const nullableText = z.string().nullable();
const limit = wholeNumber(1, 1000).default(100).describe('rows per page (1-1000)');
const offset = wholeNumber(0, 10_000_000).default(0).describe('rows to skip (0-10,000,000)');
const shortText = z.string().min(1).max(200);

export const ErrorResponse = z.object({
  error: z.string().describe('what went wrong'),
  issues: z
    .array(z.object({ field: z.string(), reason: z.string() }))
    .optional()
    .describe('each invalid field (400 only)'),
});

// --- pipeline status ---
export const PipelineStatusQuery = z.strictObject({
  limit: wholeNumber(1, 100).default(10).describe('how many recent runs (1-100)'),
});
const RunRow = z.object({
  run_id: z.string(),
  command: z.string(),
  status: z.string(),
  started_at: z.string(),
  finished_at: nullableText,
  seconds: nullableNum,
  published: z.coerce.boolean(),
  error: nullableText,
});
const FreshnessRow = z.object({ name: z.string(), last_at: nullableText, age_hours: nullableNum });
export const PipelineStatusResponse = z.object({
  available: z.boolean().describe('false when the published warehouse carries no ops.* ledger copy'),
  reason: z.string().optional(),
  published_by: z.string().nullable().optional().describe('the run that published this file (its ledger copy still says running)'),
  last_runs: z.array(RunRow),
  sources: z.array(FreshnessRow).describe('last successful extract of each source in a published run'),
  marts: z.array(FreshnessRow).describe('last successful dbt build of each model in a published run'),
});

// --- customer 360 ---
export const CustomerLookupQuery = z
  .strictObject({
    key: z.string().trim().min(1).max(200).optional().describe('customer_key'),
    email: z
      .string()
      .trim()
      .min(3)
      .max(320)
      .optional()
      .describe('e-mail (lower-cased and trimmed before matching); needs a role that may see raw e-mails'),
    phone: z
      .string()
      .trim()
      .min(5)
      .max(40)
      .optional()
      .describe('phone (+86/+1, spaces and dashes removed before matching); needs a role that may see raw phones'),
    wechat: z.string().trim().min(1).max(200).optional().describe('WeChat id; needs a role that may see raw WeChat ids'),
    qq: z
      .string()
      .trim()
      .regex(/^\d{4,12}$/, 'must be 4-12 digits')
      .optional()
      .describe('QQ number'),
    recent: wholeNumber(1, 50).default(10).describe('recent orders, tickets and mentions to return (1-50)'),
  })
  .refine((q) => [q.key, q.email, q.phone, q.wechat, q.qq].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of key, email, phone, wechat, qq',
    path: ['key'],
  });
const Row = z.record(z.string(), z.unknown());
export const CustomerLookupResponse = z.object({
  customer_key: z.string(),
  matched_by: z.enum(['key', 'email', 'phone', 'wechat', 'qq']),
  contacts_masked: z.boolean().describe('true when the role may not see raw contact points'),
  basic: Row.nullable().describe('dim_customers: identity and contact points (masked unless allowed)'),
  subjective: Row.nullable().describe('preferences, sensitivity, privacy and contact tolerance, consent'),
  transactional: Row.nullable().describe('orders, revenue, service and opinion summaries'),
  value: Row.nullable().describe('customer_value: RFM, predicted value, churn risk'),
  recent_orders: z.array(Row).nullable(),
  recent_tickets: z.array(Row).nullable(),
  recent_mentions: z.array(Row).nullable(),
  unavailable: z.array(z.string()).describe('parts not in the warehouse yet (mart missing), with the mart named'),
  withheld: z
    .array(z.object({ part: z.string(), reason: z.string() }))
    .describe("parts the token's scope (brands, regions) cannot be applied to: null in the answer, with the claim named"),
});

// --- campaign lists ---
export const TRIGGER_TYPES = ['retain_at_risk', 'follow_up_prospect', 'cross_sell', 'service_recovery'] as const;
const fromNotAfterTo = (q: { from?: string; to?: string }) => q.from === undefined || q.to === undefined || q.from <= q.to;
const TriggerFilter = z.strictObject({
  trigger_type: z.enum(TRIGGER_TYPES).optional(),
  brand: shortText.optional(),
  channel: shortText.optional().describe('suggested channel'),
  from: isoDate.optional().describe('first trigger_date'),
  to: isoDate.optional().describe('last trigger_date'),
  min_priority: wholeNumber(-1_000_000, 1_000_000).optional().describe('lowest priority (whole number)'),
});
const SegmentFilter = z.strictObject({
  segment: shortText.optional().describe('rfm_segment'),
  churn_risk_band: z.enum(['low', 'medium', 'high']).optional(),
  min_revenue: decimalNumber(-1e12, 1e12).optional(),
});
export const ExportFormat = z.strictObject({ format: z.enum(['csv', 'ndjson']).default('ndjson') });
const page = { limit, offset };
export const TriggerListQuery = TriggerFilter.extend(page).refine(fromNotAfterTo, { message: 'must not be after to', path: ['from'] });
export const TriggerExportQuery = TriggerFilter.extend(ExportFormat.shape).refine(fromNotAfterTo, {
  message: 'must not be after to',
  path: ['from'],
});
export const SegmentListQuery = SegmentFilter.extend(page);
export const SegmentExportQuery = SegmentFilter.extend(ExportFormat.shape);
export const ListPageResponse = z.object({
  rows: z.array(Row.and(z.object({ reason: z.string() }))).describe('every row says why it is on the list'),
  limit: z.number(),
  offset: z.number(),
  has_more: z.boolean(),
  withheld: z
    .array(z.object({ columns: z.array(z.string()), reason: z.string() }))
    .describe("columns left out because the token's scope (brands, regions) cannot be applied to the mart they come from"),
});

// --- KPI scorecard ---
export const ScorecardQuery = z
  .strictObject({
    from: isoDate.describe('first day of the period'),
    to: isoDate.describe('last day of the period (inclusive)'),
    kpis: z.string().max(2000).optional().describe('comma-separated KPI ids (default: all)'),
    timezone: z.string().max(64).optional().describe("IANA zone the days are read in (default: the server's, config shop.timezone)"),
  })
  .refine((q) => q.from <= q.to, { message: 'must not be after to', path: ['from'] });
/** The CLV model behind a KPI derived from the predictions (executive_kpis.clv_model_*, one row). */
const ClvModel = z.object({
  name: z.string().describe('repeat-purchase model: bgnbd, mbgnbd or paretonbd (spend: Gamma-Gamma)'),
  label: z.string().describe('display name: BG/NBD, MBG/NBD or Pareto/NBD'),
  fitted_at: z
    .string()
    .describe("when the parameters in use were fitted (ISO 8601, UTC); for a run that reused an earlier fit, that run's time"),
});
const KpiRow = z.object({
  id: z.string(),
  label_en: z.string(),
  label_zh: z.string(),
  measure: z.string(),
  format: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  current: nullableNum,
  previous: nullableNum,
  change: nullableNum.describe('current - previous'),
  change_pct: nullableNum.describe('(current - previous) / |previous|; null when previous is 0 or missing'),
  model: ClvModel.nullable()
    .optional()
    .describe(
      'only on KPIs derived from the CLV predictions (customers at risk): the model they follow; null when no scoring has fitted one yet',
    ),
});
export const ScorecardResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  previous_period: z.object({ from: z.string(), to: z.string() }),
  timezone: z.string(),
  kpis: z.array(KpiRow),
});

/** Parses input with a schema or throws a 400 listing every failing field and the reason. */
export class ValidationError extends Error {
  readonly statusCode = 400;
  constructor(readonly issues: { field: string; reason: string }[]) {
    super(`Invalid request: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
    this.name = 'ValidationError';
  }
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      field: issue.path.length ? issue.path.join('.') : issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(query)',
      reason: issue.message,
    })),
  );
}
