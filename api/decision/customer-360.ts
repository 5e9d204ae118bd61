import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import type { TableScope } from '../../semantic/row-scope.ts';
import { normalizeContactPoint, type ContactPointType } from './contact-point.ts';
import { scopeCondition, type ReadScope } from './read-scope.ts';
import { ValidationError } from './schemas.ts';
import type { CustomerLookupQuery, CustomerLookupResponse } from './schemas.ts';
import { catalog, present, type Catalog, type WarehouseDb } from './warehouse-db.ts';

type Lookup = z.output<typeof CustomerLookupQuery>;
type Answer = z.input<typeof CustomerLookupResponse>;
type MatchedBy = Answer['matched_by'];

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, message);
    this.name = 'NotFoundError';
  }
}

// The three facets of the brief, as dim_customers columns.
const BASIC = [
  'customer_key',
  'account_ids',
  'account_count',
  'full_name',
  'company',
  'job_title',
  'industry',
  'city',
  'lang',
  'signup_at',
];
const CONTACT_RAW = ['email', 'phone', 'mobile', 'wechat_id', 'qq_id'];
const CONTACT_MASKED = ['email_masked', 'phone_masked', 'wechat_masked', 'qq_masked'];
const SUBJECTIVE = [
  'preferred_categories',
  'price_sensitivity',
  'brand_affinity',
  'membership_tier',
  'points_balance',
  'privacy_tolerance',
  'contact_frequency_tolerance',
  'marketing_consent',
  'consent_email',
  'consent_sms',
  'consent_wechat',
  'consent_phone',
  'is_contactable',
];
const TRANSACTIONAL = [
  'order_count',
  'revenue',
  'first_order_at',
  'last_order_at',
  'avg_order_value',
  'ticket_count',
  'complaint_count',
  'open_ticket_count',
  'avg_satisfaction',
  'mention_count',
  'negative_mention_count',
  'avg_sentiment',
];
const VALUE = [
  'rfm_segment',
  'r_score',
  'f_score',
  'm_score',
  'rfm_score',
  'rfm_total',
  'recency_days',
  'order_count',
  'revenue',
  'avg_order_value',
  'predicted_orders_90d',
  'predicted_orders_365d',
  'predicted_value_90d',
  'predicted_value_365d',
  'probability_alive',
  'churn_risk',
  'churn_risk_band',
  'expected_next_order_at',
];
const ORDER = [
  'order_id',
  'ordered_at',
  'order_status',
  'is_valid_sale',
  'item_count',
  'net_revenue',
  'currency',
  'primary_brand',
  'primary_category',
  'is_accidental',
];
const TICKET = [
  'ticket_id',
  'channel',
  'category',
  'opened_at',
  'resolved_at',
  'first_reply_minutes',
  'resolution_minutes',
  'is_open',
  'satisfaction',
  'brand',
];
const MENTION = ['post_id', 'platform', 'published_at', 'brand', 'product', 'sentiment_score', 'sentiment_label', 'is_negative', 'text'];

const pick = (row: Record<string, unknown> | undefined, columns: string[]) =>
  row ? Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]])) : null;

/** The dim_customers columns a contact-point lookup reveals (the caller must be able to read them). */
const LOOKUP_COLUMNS = { email: ['email'], phone: ['phone', 'mobile'], wechat: ['wechat_id'], qq: ['qq_id'] } as const;

/**
 * Finds the customer_key a contact point belongs to, or throws 400/403/404/409/503. The value is
 * normalised as dbt normalises the stored ones and looked up in marts.dim_customer_contact_points
 * (every point identity resolution saw), within the caller's customer_profiles rows. Only a caller
 * who may read the raw contact point may search by it: for anyone else a 200-or-404 answer would
 * confirm guesses the mask narrows down.
 */
async function resolveKey(
  db: Kysely<WarehouseDb>,
  tables: Catalog,
  lookup: Lookup,
  profiles: TableScope,
): Promise<{ key: string; by: MatchedBy }> {
  if (lookup.key !== undefined) return { key: lookup.key, by: 'key' };
  const by: ContactPointType =
    lookup.email !== undefined ? 'email' : lookup.phone !== undefined ? 'phone' : lookup.wechat !== undefined ? 'wechat' : 'qq';
  const hidden = LOOKUP_COLUMNS[by].filter((c) => profiles.column(c) !== 'visible');
  if (hidden.length) {
    throw new ApiError(403, `Lookup by ${by} reads customer_profiles.${hidden[0]}, which this token's roles may not see; look up by key`);
  }
  const given = (lookup.email ?? lookup.phone ?? lookup.wechat ?? lookup.qq)!;
  const value = normalizeContactPoint(by, given);
  if (value === null)
    throw new ValidationError([
      {
        field: by,
        reason: `"${given}" is not ${by === 'email' ? 'an e-mail address' : by === 'phone' ? 'a phone number (7 digits or more once +86/+1, spaces and dashes are removed)' : `a ${by} id`}`,
      },
    ]);
  for (const table of ['marts.dim_customer_contact_points', 'marts.dim_customers']) {
    if (!tables.has(table))
      throw new ApiError(
        503,
        `Lookup by contact point needs the mart ${table}, which this warehouse does not have yet; look up by key instead`,
      );
  }
  let query = db
    .selectFrom('marts.dim_customer_contact_points as p')
    .innerJoin('marts.dim_customers as d', 'd.customer_key', 'p.customer_key')
    .select('p.customer_key')
    .distinct()
    .where('p.point_type', '=', by)
    .where('p.point_value', '=', value)
    .limit(2);
  const inScope = scopeCondition(profiles, 'd');
  if (inScope) query = query.where(inScope);
  const rows = await query.execute();
  if (rows.length === 0) throw new NotFoundError(`No customer with ${by} "${value}"`);
  if (rows.length > 1)
    throw new ApiError(409, `${by} "${value}" belongs to more than one customer_key (identity resolution left them apart); look up by key`);
  return { key: rows[0]!.customer_key, by };
}

/**
 * Customer 360: the three facets from dim_customers, value and risk from customer_value, and the
 * latest orders, tickets and mentions, each read within the caller's scope (the Cube model's
 * policies of the cube on that mart). The profile decides: out of scope reads as not found, a
 * scope it cannot apply is a 403. Other parts the caller's scope cannot apply to are withheld
 * (null, listed with the reason); parts whose mart is missing are listed in `unavailable`.
 * Columns follow the dimensions' member access: raw contact points only for roles that may see them.
 */
export async function customer360(db: Kysely<WarehouseDb>, lookup: Lookup, scope: ReadScope): Promise<Answer> {
  const profiles = scope.of('marts.dim_customers');
  const tables = await catalog(db);
  const { key, by } = await resolveKey(db, tables, lookup, profiles);
  const unavailable: string[] = [];
  const withheld: Answer['withheld'] = [];
  const scopeOf = (part: string, table: string): TableScope | undefined => {
    const found = scope.tryOf(table);
    if (found instanceof ApiError) {
      withheld.push({ part, reason: found.message });
      return undefined;
    }
    return found;
  };
  const readable = (within: TableScope, columns: string[]) => columns.filter((c) => within.column(c) === 'visible');
  const one = async (table: keyof WarehouseDb & `marts.${string}`, within: TableScope | undefined, columns: string[]) => {
    if (!within) return undefined;
    if (!tables.has(table)) {
      unavailable.push(`${table} (mart not built yet)`);
      return undefined;
    }
    const cols = present(tables, table, readable(within, columns));
    if (!present(tables, table, ['customer_key']).length) {
      unavailable.push(`${table} (no customer_key column yet)`);
      return undefined;
    }
    let query = db
      .selectFrom(table as 'marts.dim_customers')
      .select(cols as 'customer_key'[])
      .where('customer_key', '=', key);
    const inScope = scopeCondition(within);
    if (inScope) query = query.where(inScope);
    const row = await query.limit(1).executeTakeFirst();
    return (row ?? {}) as Record<string, unknown>;
  };
  const recent = async (
    part: string,
    table: 'marts.fct_orders' | 'marts.fct_service_tickets' | 'marts.fct_opinion_mentions',
    keyColumn: string,
    at: string,
    columns: string[],
  ) => {
    const within = scopeOf(part, table);
    if (!within) return null;
    if (!tables.has(table)) {
      unavailable.push(`${table} (mart not built yet)`);
      return null;
    }
    if (present(tables, table, [keyColumn, at]).length < 2) {
      unavailable.push(`${table} (no ${keyColumn} column yet)`);
      return null;
    }
    const inScope = scopeCondition(within);
    // The customer's rows first (a materialized CTE), then the latest of them: as one ORDER BY ... LIMIT
    // over the table, DuckDB's late materialization joins the table to itself, about twice the work.
    const rows = await db
      .with(
        (cte) => cte('hits').materialized(),
        (qb) => {
          let hits = qb
            .selectFrom(table as 'marts.fct_orders')
            .select(present(tables, table, readable(within, columns)) as 'order_id'[])
            .where(sql.ref(keyColumn), '=', key);
          if (inScope) hits = hits.where(inScope);
          return hits;
        },
      )
      .selectFrom('hits')
      .selectAll()
      .orderBy(sql.ref(at), 'desc')
      .limit(lookup.recent)
      .execute();
    return rows as Record<string, unknown>[];
  };
  const seesContacts = CONTACT_RAW.every((c) => profiles.column(c) === 'visible');
  const contactColumns = [...readable(profiles, CONTACT_RAW), ...CONTACT_MASKED];
  const [profile, value, orders, tickets, mentions] = await Promise.all([
    one('marts.dim_customers', profiles, [...BASIC, ...contactColumns, ...SUBJECTIVE, ...TRANSACTIONAL]),
    one('marts.customer_value', scopeOf('value', 'marts.customer_value'), VALUE),
    // Orders credited to the customer (an accidental order is not theirs), else the account holder's.
    recent(
      'recent_orders',
      'marts.fct_orders',
      present(tables, 'marts.fct_orders', ['credited_customer_key']).length ? 'credited_customer_key' : 'customer_key',
      'ordered_at',
      ORDER,
    ),
    recent('recent_tickets', 'marts.fct_service_tickets', 'customer_key', 'opened_at', TICKET),
    recent('recent_mentions', 'marts.fct_opinion_mentions', 'customer_key', 'published_at', MENTION),
  ]);
  if (profile === undefined && value === undefined) {
    throw new ApiError(
      503,
      `Customer 360 needs marts.dim_customers or marts.customer_value keyed by customer_key; this warehouse has neither yet: ${unavailable.join('; ')}`,
    );
  }
  const hasProfile = profile !== undefined && Object.keys(profile).length > 0;
  // Out of the caller's rows reads exactly like a key that does not exist (no oracle either way).
  const foundSomewhere = hasProfile || (profile === undefined && value !== undefined && Object.keys(value).length > 0);
  if (!foundSomewhere) throw new NotFoundError(`No customer with key "${key}"`);
  return {
    customer_key: key,
    matched_by: by,
    contacts_masked: !seesContacts,
    basic: hasProfile ? pick(profile, [...BASIC, ...contactColumns]) : null,
    subjective: hasProfile ? pick(profile, SUBJECTIVE) : null,
    transactional: hasProfile ? pick(profile, TRANSACTIONAL) : null,
    value: value && Object.keys(value).length ? value : null,
    recent_orders: orders,
    recent_tickets: tickets,
    recent_mentions: mentions,
    unavailable,
    withheld,
  };
}
