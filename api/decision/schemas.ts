import { z } from 'zod';
import { ROLES } from './caller.ts';

/**
 * Request and response schemas of the decision-support API. They validate input (a 400 names each
 * failing field and the reason), coerce the warehouse's values in responses, and generate the
 * OpenAPI document (openapi.ts), so the document cannot drift from what the server checks.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const num = z.coerce.number();
// null first: z.coerce.number() would turn null into 0.
const nullableNum = z.union([z.null(), num]);
const nullableText = z.string().nullable();
const limit = z.coerce.number().int().min(1).max(1000).default(100).describe('rows per page (1-1000)');
const offset = z.coerce.number().int().min(0).default(0).describe('rows to skip');

export const ErrorResponse = z.object({
  error: z.string().describe('what went wrong'),
  issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional().describe('each invalid field (400 only)'),
});

// --- pipeline status ---
export const PipelineStatusQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10).describe('how many recent runs'),
});
const RunRow = z.object({
  run_id: z.string(), command: z.string(), status: z.string(), started_at: z.string(), finished_at: nullableText,
  seconds: nullableNum, published: z.coerce.boolean(), error: nullableText,
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
    key: z.string().trim().min(1).optional().describe('customer_key'),
    email: z.string().trim().min(3).optional().describe('e-mail (lower-cased and trimmed before matching)'),
    phone: z.string().trim().min(5).optional().describe('phone (+86/+1, spaces and dashes removed before matching)'),
    wechat: z.string().trim().min(1).optional().describe('WeChat id'),
    qq: z.string().trim().regex(/^\d{4,12}$/, 'must be 4-12 digits').optional().describe('QQ number'),
    recent: z.coerce.number().int().min(1).max(50).default(10).describe('recent orders, tickets and mentions to return'),
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
});

// --- campaign lists ---
export const TRIGGER_TYPES = ['retain_at_risk', 'follow_up_prospect', 'cross_sell', 'service_recovery'] as const;
export const TriggerListQuery = z.strictObject({
  trigger_type: z.enum(TRIGGER_TYPES).optional(),
  brand: z.string().min(1).optional(),
  channel: z.string().min(1).optional().describe('suggested channel'),
  from: isoDate.optional().describe('first trigger_date'),
  to: isoDate.optional().describe('last trigger_date'),
  min_priority: z.coerce.number().optional(),
  limit,
  offset,
});
export const SegmentListQuery = z.strictObject({
  segment: z.string().min(1).optional().describe('rfm_segment'),
  churn_risk_band: z.enum(['low', 'medium', 'high']).optional(),
  min_revenue: z.coerce.number().optional(),
  limit,
  offset,
});
export const ExportFormat = z.strictObject({ format: z.enum(['csv', 'ndjson']).default('ndjson') });
export const ListPageResponse = z.object({
  rows: z.array(Row.and(z.object({ reason: z.string() }))).describe('every row says why it is on the list'),
  limit: z.number(),
  offset: z.number(),
  has_more: z.boolean(),
});

// --- KPI scorecard ---
export const ScorecardQuery = z
  .strictObject({
    from: isoDate.describe('first day of the period'),
    to: isoDate.describe('last day of the period (inclusive)'),
    kpis: z.string().optional().describe('comma-separated KPI ids (default: all)'),
    timezone: z.string().default('Asia/Shanghai'),
  })
  .refine((q) => q.from <= q.to, { message: 'must not be after to', path: ['from'] });
const KpiRow = z.object({
  id: z.string(), label_en: z.string(), label_zh: z.string(), measure: z.string(), format: z.string(),
  available: z.boolean(), reason: z.string().optional(),
  current: nullableNum, previous: nullableNum, change: nullableNum.describe('current - previous'),
  change_pct: nullableNum.describe('(current - previous) / |previous|; null when previous is 0 or missing'),
});
export const ScorecardResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  previous_period: z.object({ from: z.string(), to: z.string() }),
  timezone: z.string(),
  kpis: z.array(KpiRow),
});

export const RoleEnum = z.enum(ROLES);

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
  throw new ValidationError(result.error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(query)'),
    reason: issue.message,
  })));
}
