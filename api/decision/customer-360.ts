import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import type { TableScope } from '../../semantic/row-scope.ts';
import type { CustomerStoreSnapshot, JsonRows } from './customer-store.ts';
import { normalizeContactPoint, type ContactPointType } from './contact-point.ts';
import { scopeCondition, type ReadScope } from './read-scope.ts';
import { ValidationError } from './schemas.ts';
import type { CustomerLookupQuery, CustomerLookupResponse } from './schemas.ts';
import { catalog, present, type Catalog, type WarehouseDb } from './warehouse-db.ts';
import { BASIC, CONTACT_MASKED, CONTACT_RAW, CUSTOMER_PARTS, type CustomerPart, SUBJECTIVE, TRANSACTIONAL } from './customer-parts.ts';

type Lookup = z.output<typeof CustomerLookupQuery>;
type Answer = z.input<typeof CustomerLookupResponse>;
type MatchedBy = Answer['matched_by'];

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, message);
    this.name = 'NotFoundError';
  }
}

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
 * How a lookup reads one part for one caller on one catalog: worked out once per (catalog, scope),
 * since neither changes between the lookups of an agent (both are cached objects), so a lookup
 * only reads rows. `within` undefined: withheld or unavailable (the reason is in the shape's lists).
 */
interface PlannedPart {
  spec: CustomerPart;
  within: TableScope | undefined;
  keyColumn: string;
  /** The columns read: present in the mart and visible to the caller, in the part's order. */
  columns: string[];
  /** `"column":` per read column, the JSON text an answer object puts before each value. */
  keys: string[];
  /** Every read column, by index (the whole row). */
  all: number[];
  /** Lists: whether the mart has the id column that breaks ties on the time. */
  tieBreak: boolean;
}

interface LookupShape {
  parts: PlannedPart[];
  seesContacts: boolean;
  /** The indexes of the profile's read columns that make up each facet, in the facet's order. */
  basic: number[];
  subjective: number[];
  transactional: number[];
  unavailable: string[];
  unavailableJson: string;
  withheld: Answer['withheld'];
  withheldJson: string;
}

const shapes = new WeakMap<Catalog, WeakMap<ReadScope, LookupShape>>();

function lookupShape(tables: Catalog, scope: ReadScope): LookupShape {
  let byScope = shapes.get(tables);
  if (!byScope) shapes.set(tables, (byScope = new WeakMap()));
  let shape = byScope.get(scope);
  if (!shape) byScope.set(scope, (shape = planLookup(tables, scope)));
  return shape;
}

const LIST_PARTS: Record<string, string> = { orders: 'recent_orders', tickets: 'recent_tickets', mentions: 'recent_mentions' };

function planLookup(tables: Catalog, scope: ReadScope): LookupShape {
  const profiles = scope.of('marts.dim_customers');
  const unavailable: string[] = [];
  const withheld: Answer['withheld'] = [];
  const readable = (within: TableScope, columns: readonly string[]) => columns.filter((c) => within.column(c) === 'visible');
  const seesContacts = CONTACT_RAW.every((c) => profiles.column(c) === 'visible');
  const contactColumns = [...readable(profiles, CONTACT_RAW), ...CONTACT_MASKED];
  const parts = CUSTOMER_PARTS.map((spec): PlannedPart => {
    const { table, list } = spec;
    // The profile is read within the caller's scope or refused (above); other parts can be withheld.
    let within: TableScope | undefined = profiles;
    if (spec.name !== 'profile') {
      const found = scope.tryOf(table);
      if (found instanceof ApiError) {
        withheld.push({ part: LIST_PARTS[spec.name] ?? spec.name, reason: found.message });
        within = undefined;
      } else within = found;
    }
    const keyColumn = list
      ? (spec.keyColumns.find((c) => present(tables, table, [c]).length) ?? spec.keyColumns[spec.keyColumns.length - 1]!)
      : 'customer_key';
    if (within && !tables.has(table)) {
      unavailable.push(`${table} (mart not built yet)`);
      within = undefined;
    }
    const wanted = spec.name === 'profile' ? [...BASIC, ...contactColumns, ...SUBJECTIVE, ...TRANSACTIONAL] : spec.columns;
    const columns = within ? present(tables, table, readable(within, wanted)) : [];
    if (within && present(tables, table, list ? [keyColumn, list.at] : ['customer_key']).length < (list ? 2 : 1)) {
      unavailable.push(`${table} (no ${keyColumn} column yet)`);
      within = undefined;
    }
    return {
      spec,
      within,
      keyColumn,
      columns,
      keys: columns.map((c) => `${JSON.stringify(c)}:`),
      all: columns.map((_, i) => i),
      tieBreak: list !== undefined && present(tables, table, [list.id]).length > 0,
    };
  });
  const profileColumns = parts[0]!.columns;
  const indexes = (facet: readonly string[]) => facet.map((c) => profileColumns.indexOf(c)).filter((i) => i >= 0);
  return {
    parts,
    seesContacts,
    basic: indexes([...BASIC, ...contactColumns]),
    subjective: indexes(SUBJECTIVE),
    transactional: indexes(TRANSACTIONAL),
    unavailable,
    unavailableJson: JSON.stringify(unavailable),
    withheld,
    withheldJson: JSON.stringify(withheld),
  };
}

/** The JSON object of a row's columns at `pick` (indexes of the part's read columns). */
function objectJson(part: PlannedPart, rows: JsonRows, row: number, pick: readonly number[]): string {
  const values = rows.rows[row]!;
  let text = '{';
  for (let j = 0; j < pick.length; j++) {
    const i = pick[j]!;
    text += (j === 0 ? '' : ',') + part.keys[i]! + (values[rows.at[i]!] as string);
  }
  return `${text}}`;
}

/** DuckDB's rows in the store's shape: each read column's value as JSON text, in the read's order. */
function asJsonRows(part: PlannedPart, rows: readonly Record<string, unknown>[]): JsonRows {
  return { at: part.all, rows: rows.map((row) => part.columns.map((c) => JSON.stringify(row[c] ?? null))) };
}

/**
 * One part's rows for the customer within the caller's scope, newest first for lists: from the
 * customer store when it can answer exactly as DuckDB would (api/decision/customer-store.ts), else
 * from DuckDB with the scope's predicate in the statement. A store read is synchronous.
 */
function readPart(
  db: Kysely<WarehouseDb>,
  part: PlannedPart,
  within: TableScope,
  key: string,
  limit: number,
  store: CustomerStoreSnapshot | undefined,
  reads: LookupReads,
): JsonRows | Promise<JsonRows> {
  const stored = store?.read(part.spec.name, part.keyColumn, key, part.columns, within.rows, limit);
  if (stored) {
    reads.store++;
    return stored;
  }
  reads.warehouse++;
  return readWarehouse(db, part, within, key, limit);
}

async function readWarehouse(
  db: Kysely<WarehouseDb>,
  part: PlannedPart,
  within: TableScope,
  key: string,
  limit: number,
): Promise<JsonRows> {
  const { spec, keyColumn, columns, tieBreak } = part;
  const inScope = scopeCondition(within);
  const table = spec.table as 'marts.fct_orders';
  if (!spec.list) {
    let query = db
      .selectFrom(table)
      .select(columns as 'customer_key'[])
      .where('customer_key', '=', key);
    if (inScope) query = query.where(inScope);
    return asJsonRows(part, await query.limit(1).execute());
  }
  const list = spec.list;
  // The customer's rows first (a materialized CTE), then the latest of them: as one ORDER BY ... LIMIT
  // over the table, DuckDB's late materialization joins the table to itself, about twice the work.
  // Ties on the time go by id, newest first, as the customer store orders them.
  const rows = await db
    .with(
      (cte) => cte('hits').materialized(),
      (qb) => {
        let hits = qb
          .selectFrom(table)
          .select(columns as 'order_id'[])
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
    .limit(limit)
    .execute();
  return asJsonRows(part, rows as Record<string, unknown>[]);
}

/** The answer's fields as JSON text, each one (the compiler checks none of the contract's is missing). */
type AnswerJson = { [K in keyof Answer]-?: string };

/**
 * Customer 360, as the JSON text of the answer: the three facets from dim_customers, value and risk
 * from customer_value, and the latest orders, tickets and mentions, each read within the caller's
 * scope (the Cube model's policies of the cube on that mart). The profile decides: out of scope
 * reads as not found, a scope it cannot apply is a 403. Other parts the caller's scope cannot apply
 * to are withheld (null, listed with the reason); parts whose mart is missing are listed in
 * `unavailable`. Columns follow the dimensions' member access: raw contact points only for roles
 * that may see them. Parts are read from the customer store when one is given for the published
 * version, else from DuckDB; both give the same answer (tests/e2e/decision-scopes.test.ts compares
 * them). The answer is assembled from the rows' JSON text, not built as objects and serialised: it
 * is what the route sends (the tests parse it with CustomerLookupResponse).
 */
export async function customer360(
  db: Kysely<WarehouseDb>,
  lookup: Lookup,
  scope: ReadScope,
  store?: CustomerStoreSnapshot,
  reads: LookupReads = { store: 0, warehouse: 0 },
): Promise<string> {
  const profiles = scope.of('marts.dim_customers');
  const tables = await catalog(db);
  const { key, by } = await resolveKey(db, tables, lookup, profiles);
  const shape = lookupShape(tables, scope);
  const read = (part: PlannedPart, limit: number) => (part.within ? readPart(db, part, part.within, key, limit, store, reads) : undefined);
  const [profilePart, valuePart, ...listParts] = shape.parts as [PlannedPart, PlannedPart, ...PlannedPart[]];
  const [profile, value, ...lists] = await Promise.all([
    read(profilePart, 1),
    read(valuePart, 1),
    ...listParts.map((part) => read(part, lookup.recent)),
  ]);
  if (profile === undefined && value === undefined) {
    throw new ApiError(
      503,
      `Customer 360 needs marts.dim_customers or marts.customer_value keyed by customer_key; this warehouse has neither yet: ${shape.unavailable.join('; ')}`,
    );
  }
  const hasRow = (part: PlannedPart, rows: JsonRows | undefined) => rows !== undefined && rows.rows.length > 0 && part.columns.length > 0;
  const hasProfile = hasRow(profilePart, profile);
  // Out of the caller's rows reads exactly like a key that does not exist (no oracle either way).
  const foundSomewhere = hasProfile || (profile === undefined && hasRow(valuePart, value));
  if (!foundSomewhere) throw new NotFoundError(`No customer with key "${key}"`);
  const facet = (pick: number[]) => (hasProfile ? objectJson(profilePart, profile!, 0, pick) : 'null');
  const listJson = (part: PlannedPart, rows: JsonRows | undefined) =>
    rows === undefined ? 'null' : `[${rows.rows.map((_, r) => objectJson(part, rows, r, part.all)).join(',')}]`;
  const answer: AnswerJson = {
    customer_key: JSON.stringify(key),
    matched_by: JSON.stringify(by),
    contacts_masked: String(!shape.seesContacts),
    basic: facet(shape.basic),
    subjective: facet(shape.subjective),
    transactional: facet(shape.transactional),
    value: hasRow(valuePart, value) ? objectJson(valuePart, value!, 0, valuePart.all) : 'null',
    recent_orders: listJson(listParts[0]!, lists[0]),
    recent_tickets: listJson(listParts[1]!, lists[1]),
    recent_mentions: listJson(listParts[2]!, lists[2]),
    unavailable: shape.unavailableJson,
    withheld: shape.withheldJson,
  };
  let text = '{';
  for (const name in answer) text += `${text.length > 1 ? ',' : ''}"${name}":${answer[name as keyof AnswerJson]}`;
  return `${text}}`;
}
