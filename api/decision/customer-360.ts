import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import type { TableScope } from '../../semantic/row-scope.ts';
import type { CustomerStoreSnapshot } from './customer-store.ts';
import { normalizeContactPoint, type ContactPointType } from './contact-point.ts';
import { scopeCondition, type ReadScope } from './read-scope.ts';
import { ValidationError } from './schemas.ts';
import type { CustomerLookupQuery, CustomerLookupResponse } from './schemas.ts';
import { catalog, present, type Catalog, type WarehouseDb } from './warehouse-db.ts';
import {
  BASIC,
  CONTACT_MASKED,
  CONTACT_RAW,
  CUSTOMER_PARTS,
  type CustomerPartName,
  SUBJECTIVE,
  TRANSACTIONAL,
  VALUE,
} from './customer-parts.ts';

type Lookup = z.output<typeof CustomerLookupQuery>;
type Answer = z.input<typeof CustomerLookupResponse>;
type MatchedBy = Answer['matched_by'];

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, message);
    this.name = 'NotFoundError';
  }
}

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

/** Where a lookup's parts were read: the customer store, or DuckDB statements on the warehouse. */
export interface LookupReads {
  store: number;
  warehouse: number;
}

/**
 * A part read from the customer store (api/decision/customer-store.ts): the customer's rows the
 * caller's scope keeps, in the store's order (lists newest first), with the columns the DuckDB
 * path would select. Undefined when the store cannot answer exactly as the DuckDB path would (the
 * part was not stored, was read by another key column, or the scope filters on a column it lacks).
 */
function fromStore(
  store: CustomerStoreSnapshot | undefined,
  name: CustomerPartName,
  key: string,
  keyColumn: string,
  within: TableScope,
  columns: string[],
  limit: number,
): Record<string, unknown>[] | undefined {
  return store?.read(name, keyColumn, key, columns, within.rows, limit);
}

/**
 * Customer 360: the three facets from dim_customers, value and risk from customer_value, and the
 * latest orders, tickets and mentions, each read within the caller's scope (the Cube model's
 * policies of the cube on that mart). The profile decides: out of scope reads as not found, a
 * scope it cannot apply is a 403. Other parts the caller's scope cannot apply to are withheld
 * (null, listed with the reason); parts whose mart is missing are listed in `unavailable`.
 * Columns follow the dimensions' member access: raw contact points only for roles that may see them.
 * Parts are read from the customer store when one is given for the published version, else from
 * DuckDB; both give the same answer (tests/e2e/decision-scopes.test.ts compares them).
 */
export async function customer360(
  db: Kysely<WarehouseDb>,
  lookup: Lookup,
  scope: ReadScope,
  store?: CustomerStoreSnapshot,
  reads: LookupReads = { store: 0, warehouse: 0 },
): Promise<Answer> {
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
  const one = async (
    name: CustomerPartName,
    table: keyof WarehouseDb & `marts.${string}`,
    within: TableScope | undefined,
    columns: string[],
  ) => {
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
    const stored = fromStore(store, name, key, 'customer_key', within, cols, 1);
    if (stored) {
      reads.store++;
      return stored[0] ?? {};
    }
    reads.warehouse++;
    let query = db
      .selectFrom(table as 'marts.dim_customers')
      .select(cols as 'customer_key'[])
      .where('customer_key', '=', key);
    const inScope = scopeCondition(within);
    if (inScope) query = query.where(inScope);
    const row = await query.limit(1).executeTakeFirst();
    return (row ?? {}) as Record<string, unknown>;
  };
  const recent = async (name: CustomerPartName, part: string) => {
    const spec = CUSTOMER_PARTS.find((p) => p.name === name)!;
    const { table, list, keyColumns } = spec as { table: 'marts.fct_orders'; list: { at: string; id: string }; keyColumns: string[] };
    const keyColumn = keyColumns.find((c) => present(tables, table, [c]).length) ?? keyColumns[keyColumns.length - 1]!;
    const within = scopeOf(part, table);
    if (!within) return null;
    if (!tables.has(table)) {
      unavailable.push(`${table} (mart not built yet)`);
      return null;
    }
    if (present(tables, table, [keyColumn, list.at]).length < 2) {
      unavailable.push(`${table} (no ${keyColumn} column yet)`);
      return null;
    }
    const cols = present(tables, table, readable(within, spec.columns));
    const stored = fromStore(store, name, key, keyColumn, within, cols, lookup.recent);
    if (stored) {
      reads.store++;
      return stored;
    }
    reads.warehouse++;
    const inScope = scopeCondition(within);
    const tieBreak = present(tables, table, [list.id]).length > 0;
    // The customer's rows first (a materialized CTE), then the latest of them: as one ORDER BY ... LIMIT
    // over the table, DuckDB's late materialization joins the table to itself, about twice the work.
    // Ties on the time go by id, newest first, as the customer store orders them.
    const rows = await db
      .with(
        (cte) => cte('hits').materialized(),
        (qb) => {
          let hits = qb
            .selectFrom(table)
            .select(cols as 'order_id'[])
            .select(sql<string>`${sql.ref(tieBreak ? list.id : list.at)}`.as('$order_id'))
            .select(sql<string>`${sql.ref(list.at)}`.as('$order_at'))
            .where(sql.ref(keyColumn), '=', key);
          if (inScope) hits = hits.where(inScope);
          return hits;
        },
      )
      .selectFrom('hits')
      .selectAll()
      .orderBy(sql`"$order_at" desc nulls last`)
      .orderBy(sql`"$order_id" desc nulls last`)
      .limit(lookup.recent)
      .execute();
    return (rows as Record<string, unknown>[]).map(({ $order_id: _id, $order_at: _at, ...row }) => row);
  };
  const seesContacts = CONTACT_RAW.every((c) => profiles.column(c) === 'visible');
  const contactColumns = [...readable(profiles, CONTACT_RAW), ...CONTACT_MASKED];
  const [profile, value, orders, tickets, mentions] = await Promise.all([
    one('profile', 'marts.dim_customers', profiles, [...BASIC, ...contactColumns, ...SUBJECTIVE, ...TRANSACTIONAL]),
    one('value', 'marts.customer_value', scopeOf('value', 'marts.customer_value'), VALUE),
    recent('orders', 'recent_orders'),
    recent('tickets', 'recent_tickets'),
    recent('mentions', 'recent_mentions'),
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
