import { Readable } from 'node:stream';
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import type { TableScope } from '../../semantic/row-scope.ts';
import { scopeCondition, type ReadScope } from './read-scope.ts';
import type { SegmentListQuery, TriggerListQuery } from './schemas.ts';
import { catalog, present, type Catalog, type WarehouseDb } from './warehouse-db.ts';

type TriggerFilter = Omit<z.output<typeof TriggerListQuery>, 'limit' | 'offset'>;
type SegmentFilter = Omit<z.output<typeof SegmentListQuery>, 'limit' | 'offset'>;

/** A list query: kysely builder plus the output columns in order (for the CSV header of an empty list). */
export interface ListQuery {
  query: SelectQueryBuilder<any, any, Record<string, unknown>>;
  columns: string[];
  /** Columns left out because the caller's scope cannot read the mart they come from, with why. */
  withheld: { columns: string[]; reason: string }[];
}

const readable = (scope: TableScope, columns: string[]) => columns.filter((c) => scope.column(c) === 'visible');

const TRIGGER_COLUMNS = ['trigger_date', 'customer_key', 'trigger_type', 'priority', 'suggested_channel', 'category', 'brand'];
const CONTACT_RAW = ['email', 'phone', 'wechat_id', 'qq_id'];
const CONTACT_MASKED = ['email_masked', 'phone_masked', 'wechat_masked', 'qq_masked'];

function need(tables: Catalog, table: string, why: string): void {
  if (!tables.has(table)) throw new ApiError(503, `${why} needs the mart ${table}, which this warehouse does not have yet`);
}

/**
 * Campaign triggers (fct_customer_triggers): every row carries the mart's human-readable reason.
 * The mart already keeps only customers whose consent and contact tolerance allow contact; the
 * is_contactable filter is applied again here so a list can never contain anyone else.
 */
export async function triggerList(db: Kysely<WarehouseDb>, filter: TriggerFilter, scope: ReadScope): Promise<ListQuery> {
  const triggers = scope.of('marts.fct_customer_triggers');
  // The person columns come from the profile mart, within its own scope; a scope it cannot apply
  // to (a brand-scoped token: profiles have no brand) leaves them out, and the answer says so.
  const profiles = scope.tryOf('marts.dim_customers');
  const withheld: ListQuery['withheld'] = [];
  const tables = await catalog(db);
  need(tables, 'marts.fct_customer_triggers', 'The trigger list');
  const own = present(tables, 'marts.fct_customer_triggers', readable(triggers, TRIGGER_COLUMNS));
  const profileScope = profiles instanceof ApiError ? undefined : profiles;
  if (profiles instanceof ApiError) withheld.push({ columns: ['full_name', ...CONTACT_MASKED], reason: profiles.message });
  const withProfile = tables.has('marts.dim_customers') && profileScope !== undefined;
  const contacts = withProfile
    ? present(tables, 'marts.dim_customers', readable(profileScope, ['full_name', ...CONTACT_RAW, ...CONTACT_MASKED]))
    : [];
  let query = db
    .selectFrom('marts.fct_customer_triggers as t')
    .select(own.map((c) => sql.ref(`t.${c}`).as(c)))
    .select(sql<string>`t.reason`.as('reason')) as unknown as SelectQueryBuilder<any, any, Record<string, unknown>>;
  if (withProfile) {
    // The person's row only when it is in the caller's profile scope (else the columns are null).
    const inProfileScope = scopeCondition(profileScope, 'd');
    query = query
      .leftJoin('marts.dim_customers as d', (join) => {
        const on = join.onRef('d.customer_key', '=', 't.customer_key');
        return inProfileScope ? on.on(inProfileScope) : on;
      })
      .select(contacts.map((c) => sql.ref(`d.${c}`).as(c)));
  }
  query = query.where(sql.ref('t.is_contactable'), '=', true);
  const inScope = scopeCondition(triggers, 't');
  if (inScope) query = query.where(inScope);
  if (filter.trigger_type) query = query.where(sql.ref('t.trigger_type'), '=', filter.trigger_type);
  if (filter.brand) query = query.where(sql.ref('t.brand'), '=', filter.brand);
  if (filter.channel) query = query.where(sql.ref('t.suggested_channel'), '=', filter.channel);
  if (filter.from) query = query.where(sql.ref('t.trigger_date'), '>=', sql`CAST(${filter.from} AS DATE)`);
  if (filter.to) query = query.where(sql.ref('t.trigger_date'), '<=', sql`CAST(${filter.to} AS DATE)`);
  if (filter.min_priority !== undefined) query = query.where(sql.ref('t.priority'), '>=', filter.min_priority);
  // A stable order, so pages never overlap or skip.
  query = query.orderBy(sql.ref('t.trigger_date'), 'desc').orderBy(sql.ref('t.trigger_type')).orderBy(sql.ref('t.customer_key'));
  return { query, columns: [...own, 'reason', ...contacts], withheld };
}

/**
 * RFM segment list (customer_value.rfm_segment) for campaigns. Consent lives in dim_customers, so
 * without it there is no list (never a list that might include people who said no); rows carry
 * the reason they are on it (segment, R/F/M scores, churn risk).
 */
export async function segmentList(db: Kysely<WarehouseDb>, filter: SegmentFilter, scope: ReadScope): Promise<ListQuery> {
  const values = scope.of('marts.customer_value');
  const profiles = scope.of('marts.dim_customers');
  const tables = await catalog(db);
  need(tables, 'marts.customer_value', 'The segment list');
  need(tables, 'marts.dim_customers', 'The segment list (consent and contact tolerance)');
  const valueCols = present(
    tables,
    'marts.customer_value',
    readable(values, [
      'customer_key',
      'rfm_segment',
      'r_score',
      'f_score',
      'm_score',
      'revenue',
      'order_count',
      'recency_days',
      'predicted_value_365d',
      'churn_risk_band',
    ]),
  );
  if (!valueCols.includes('customer_key') || !valueCols.includes('rfm_segment')) {
    throw new ApiError(
      503,
      'The segment list needs customer_value.customer_key and customer_value.rfm_segment, which this warehouse does not have yet',
    );
  }
  const contacts = present(tables, 'marts.dim_customers', readable(profiles, ['full_name', ...CONTACT_RAW, ...CONTACT_MASKED]));
  const churn = valueCols.includes('churn_risk_band') ? sql`coalesce(', churn risk ' || v.churn_risk_band, '')` : sql`''`;
  let query = db
    .selectFrom('marts.customer_value as v')
    .innerJoin('marts.dim_customers as d', 'd.customer_key', 'v.customer_key')
    .select(valueCols.map((c) => sql.ref(`v.${c}`).as(c)))
    .select(
      sql<string>`concat('RFM segment ', v.rfm_segment, ' (R', coalesce(CAST(v.r_score AS VARCHAR), '-'), ' F', coalesce(CAST(v.f_score AS VARCHAR), '-'), ' M', coalesce(CAST(v.m_score AS VARCHAR), '-'), ')', ${churn})`.as(
        'reason',
      ),
    )
    .select(contacts.map((c) => sql.ref(`d.${c}`).as(c))) as unknown as SelectQueryBuilder<any, any, Record<string, unknown>>;
  query = query.where(sql.ref('d.is_contactable'), '=', true).where(sql.ref('v.rfm_segment'), 'is not', null);
  for (const inScope of [scopeCondition(values, 'v'), scopeCondition(profiles, 'd')]) if (inScope) query = query.where(inScope);
  if (filter.segment) query = query.where(sql.ref('v.rfm_segment'), '=', filter.segment);
  if (filter.churn_risk_band) query = query.where(sql.ref('v.churn_risk_band'), '=', filter.churn_risk_band);
  if (filter.min_revenue !== undefined) query = query.where(sql.ref('v.revenue'), '>=', filter.min_revenue);
  query = query.orderBy(sql.ref('v.revenue'), 'desc').orderBy(sql.ref('v.customer_key'));
  return { query, columns: [...valueCols, 'reason', ...contacts], withheld: [] };
}

/** One page (limit + 1 rows read to know whether there is more). */
export async function listPage(list: ListQuery, limit: number, offset: number) {
  const rows = await list.query
    .limit(limit + 1)
    .offset(offset)
    .execute();
  return {
    rows: rows.slice(0, limit) as (Record<string, unknown> & { reason: string })[],
    limit,
    offset,
    has_more: rows.length > limit,
    withheld: list.withheld,
  };
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The whole list as CSV or NDJSON, streamed: rows come from DuckDB a chunk at a time (kysely's
 * stream over the reader's chunked results) and are written as the client reads them, so memory
 * does not grow with the list.
 */
export function exportList(list: ListQuery, format: 'csv' | 'ndjson'): Readable {
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield `${list.columns.map(csvField).join(',')}\r\n`;
    let batch: string[] = [];
    for await (const row of list.query.stream(2048)) {
      batch.push(format === 'csv' ? `${list.columns.map((c) => csvField(row[c])).join(',')}\r\n` : `${JSON.stringify(row)}\n`);
      if (batch.length >= 512) {
        yield batch.join('');
        batch = [];
      }
    }
    if (batch.length) yield batch.join('');
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 64 * 1024 });
}
