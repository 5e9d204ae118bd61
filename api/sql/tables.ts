import { accessContextFromClaims, accessControlFor } from '../../semantic/access-control.ts';
import type { MetaMember } from '../../semantic/meta.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';

/**
 * The tables the SQL door shows a caller: one per Cube view the caller's access policies let it see
 * (private cubes never), its columns the view's dimensions and measures, named by the member's
 * short name (`sales_overview.revenue` is column `revenue` of table `sales_overview`).
 */

/** A Postgres type as the door reports it: OID, typlen, and the name format_type() gives. */
export interface PgType {
  oid: number;
  size: number;
  name: string;
}

export const PG_TYPES = {
  text: { oid: 25, size: -1, name: 'text' },
  numeric: { oid: 1700, size: -1, name: 'numeric' },
  int8: { oid: 20, size: 8, name: 'bigint' },
  int4: { oid: 23, size: 4, name: 'integer' },
  float8: { oid: 701, size: 8, name: 'double precision' },
  bool: { oid: 16, size: 1, name: 'boolean' },
  timestamp: { oid: 1114, size: 8, name: 'timestamp without time zone' },
  date: { oid: 1082, size: 4, name: 'date' },
  name: { oid: 19, size: 64, name: 'name' },
  oid: { oid: 26, size: 4, name: 'oid' },
  char: { oid: 18, size: 1, name: '"char"' },
  int2: { oid: 21, size: 2, name: 'smallint' },
} as const satisfies Record<string, PgType>;

export interface SqlColumn {
  /** Column name: the member's name without its view. */
  name: string;
  /** The Cube member, e.g. sales_overview.revenue. */
  member: string;
  /** Segments are boolean columns that only filter (WHERE segment), as in Cube's SQL API. */
  kind: 'dimension' | 'measure' | 'segment';
  /** Cube's type: string, number, time, boolean (dimensions) or the measure's result type. */
  type: string;
  /** Measures: Cube's aggregation (sum, count, countDistinct, avg, min, max, number, ...). */
  aggType?: string;
  pg: PgType;
  description?: string;
}

export interface SqlTable {
  name: string;
  description?: string;
  columns: SqlColumn[];
}

const COUNT_AGG_TYPES = new Set(['count', 'countDistinct', 'countDistinctApprox']);

function pgTypeOf(member: MetaMember, kind: 'dimension' | 'measure' | 'segment'): PgType {
  if (kind === 'segment') return PG_TYPES.bool;
  if (kind === 'measure' && member.aggType && COUNT_AGG_TYPES.has(member.aggType)) return PG_TYPES.int8;
  switch (member.type) {
    case 'number':
      return PG_TYPES.numeric;
    case 'time':
      return PG_TYPES.timestamp;
    case 'boolean':
      return PG_TYPES.bool;
    case 'count':
    case 'countDistinct':
    case 'countDistinctApprox':
      return PG_TYPES.int8;
    case 'string':
      return PG_TYPES.text;
    default:
      return kind === 'measure' ? PG_TYPES.numeric : PG_TYPES.text;
  }
}

function column(viewName: string, member: MetaMember, kind: 'dimension' | 'measure' | 'segment'): SqlColumn {
  return {
    name: member.name.slice(viewName.length + 1),
    member: member.name,
    kind,
    type: member.type,
    ...(member.aggType ? { aggType: member.aggType } : {}),
    pg: pgTypeOf(member, kind),
    ...(member.description ? { description: member.description } : {}),
  };
}

const tablesCache = new WeakMap<SemanticModel, Map<string, SqlTable[]>>();

/** The views the caller may see, as tables (Cube's /meta for these claims, views only). */
export function tablesFor(model: SemanticModel, securityContext: Record<string, unknown>): SqlTable[] {
  const key = JSON.stringify(Object.entries(accessContextFromClaims(securityContext)).sort(([a], [b]) => a.localeCompare(b)));
  let perModel = tablesCache.get(model);
  if (!perModel) tablesCache.set(model, (perModel = new Map()));
  const cached = perModel.get(key);
  if (cached) return cached;
  const meta = accessControlFor(model).metaFor(model.meta, accessContextFromClaims(securityContext));
  const tables = meta.cubes
    .filter((cube) => cube.type === 'view')
    .map((view) => ({
      name: view.name,
      ...(view.description ? { description: view.description } : {}),
      columns: [
        ...view.dimensions.map((member) => column(view.name, member, 'dimension')),
        ...view.measures.map((member) => column(view.name, member, 'measure')),
        ...(view.segments ?? []).map((member) => column(view.name, member, 'segment')),
      ],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (perModel.size > 200) perModel.clear();
  perModel.set(key, tables);
  return tables;
}
