import { ForbiddenError } from '../shared/errors.ts';
import { SCOPE_CLAIMS, accessControlFor, type AccessContext, type MemberAccess } from './access-control.ts';
import type { QueryFilter } from './query-types.ts';
import type { SemanticModel } from './semantic-model.ts';

/**
 * The Cube model's access policies, applied to a warehouse table read outside Cube (the decision
 * API reads marts with kysely). A table is scoped by the cubes built on it (`sql_table`): the rows
 * a caller may read are those the cubes' row-level filters keep, and a column is readable when the
 * dimension that exposes it is. So there is one definition of access, the model's, on every path.
 *
 * Only filters the decision API can apply exactly are translated (equals / notEquals / set / notSet
 * on a dimension whose sql is a bare column); anything else is a 403 naming the claim, never an
 * unscoped answer. A table no cube is built on has no policy: unscoped callers read it, scoped
 * callers are refused.
 */

/** A row predicate over one table's columns. */
export type RowPredicate =
  | { and: RowPredicate[] }
  | { or: RowPredicate[] }
  | { column: string; operator: 'in' | 'notIn'; values: (string | null)[] }
  | { column: string; operator: 'set' | 'notSet' };

export interface TableScope {
  table: string;
  /** The cubes whose policies decided this scope. */
  cubes: string[];
  /** Rows the caller may read; null = every row. */
  rows: RowPredicate | null;
  /** How the caller sees a column: as is, masked (treated as not readable here) or not at all. */
  column(name: string): MemberAccess;
}

function scopeClaimsOf(context: AccessContext): string[] {
  return SCOPE_CLAIMS.filter((claim) => context[claim]);
}

function untranslatable(table: string, cube: string, what: string, context: AccessContext): ForbiddenError {
  const claims = scopeClaimsOf(context);
  const named = claims.length ? claims.map((c) => `"${c}"`).join(' and ') : '"roles"';
  return new ForbiddenError(
    `Access denied: the row-level policy of cube '${cube}' on ${table} (${what}) cannot be applied on this path, so the token's ${named} claim cannot be honoured here`,
  );
}

/** The access scope of one warehouse table for a caller; throws a 403 naming the claim it cannot honour. */
export function tableScope(model: SemanticModel, table: string, context: AccessContext): TableScope {
  const access = accessControlFor(model);
  const cubes = access.cubesOnTable(table);
  if (cubes.length === 0) {
    const claims = scopeClaimsOf(context);
    if (claims.length) {
      throw new ForbiddenError(
        `Access denied: ${table} has no cube in the semantic model, so no access policy says how to scope it by the token's ${claims.map((c) => `"${c}"`).join(' and ')} claim${claims.length > 1 ? 's' : ''}; ask for a token without ${claims.join(' or ')} scoping to read it`,
      );
    }
    return { table, cubes, rows: null, column: () => 'visible' };
  }
  const predicates: RowPredicate[] = [];
  for (const cube of cubes) {
    const filter = access.rowFilterOf(cube, context);
    if (filter) predicates.push(translate(filter, cube, table, context, (member) => access.dimensionColumn(member)));
  }
  // Column -> the dimensions exposing it, per cube; a column is readable when every cube on the
  // table that exposes it lets the caller see one of its dimensions as is.
  const exposing = new Map<string, Map<string, string[]>>();
  for (const cube of cubes) {
    for (const member of access.dimensionsOf(cube)) {
      const column = access.dimensionColumn(member);
      if (!column) continue;
      const byCube = exposing.get(column) ?? new Map<string, string[]>();
      byCube.set(cube, [...(byCube.get(cube) ?? []), member]);
      exposing.set(column, byCube);
    }
  }
  const columnAccess = new Map<string, MemberAccess>();
  const column = (name: string): MemberAccess => {
    const known = columnAccess.get(name);
    if (known) return known;
    const byCube = exposing.get(name);
    let result: MemberAccess = 'visible';
    for (const members of byCube?.values() ?? []) {
      const seen = members.map((m) => access.memberAccess(m, context));
      if (!seen.includes('visible')) result = seen.includes('masked') ? 'masked' : 'hidden';
      if (result !== 'visible') break;
    }
    columnAccess.set(name, result);
    return result;
  };
  const rows = predicates.length === 0 ? null : predicates.length === 1 ? predicates[0]! : { and: predicates };
  return { table, cubes, rows, column };
}

function translate(
  filter: QueryFilter,
  cube: string,
  table: string,
  context: AccessContext,
  columnOf: (member: string) => string | undefined,
): RowPredicate {
  if ('and' in filter) return { and: filter.and.map((f) => translate(f, cube, table, context, columnOf)) };
  if ('or' in filter) return { or: filter.or.map((f) => translate(f, cube, table, context, columnOf)) };
  const member = filter.member;
  if (!member) throw untranslatable(table, cube, 'a filter without a member', context);
  const column = columnOf(member);
  if (!column) throw untranslatable(table, cube, `'${member}' is not a plain column`, context);
  const values = (filter.values ?? []) as (string | null)[];
  switch (filter.operator) {
    case 'equals':
      return { column, operator: 'in', values };
    case 'notEquals':
      return { column, operator: 'notIn', values };
    case 'set':
    case 'notSet':
      return { column, operator: filter.operator };
    default:
      throw untranslatable(table, cube, `operator '${filter.operator}' on '${member}'`, context);
  }
}

/**
 * Whether a row passes a predicate, decided in memory exactly as the predicate's SQL
 * (api/decision/read-scope.ts) decides it in DuckDB: `value` is the column as `CAST(column AS
 * VARCHAR)` gives it (null for SQL NULL), so `in` and `notIn` compare the same text. A NULL the SQL
 * yields counts as false, which is the same under AND and OR since no predicate negates one.
 */
export function rowMatches(predicate: RowPredicate, value: (column: string) => string | null): boolean {
  if ('and' in predicate) return predicate.and.every((p) => rowMatches(p, value));
  if ('or' in predicate) return predicate.or.some((p) => rowMatches(p, value));
  const v = value(predicate.column);
  switch (predicate.operator) {
    case 'set':
      return v !== null;
    case 'notSet':
      return v === null;
    case 'in':
      return v === null ? predicate.values.includes(null) : predicate.values.includes(v);
    case 'notIn': {
      const allowsNull = !predicate.values.includes(null);
      return v === null ? allowsNull : !predicate.values.includes(v);
    }
  }
}

/** The columns a predicate reads. */
export function predicateColumns(predicate: RowPredicate): string[] {
  if ('and' in predicate || 'or' in predicate)
    return [...new Set(('and' in predicate ? predicate.and : predicate.or).flatMap(predicateColumns))];
  return [predicate.column];
}
