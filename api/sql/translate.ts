import { LRUCache } from 'lru-cache';
import nodeSqlParser from 'node-sql-parser/build/postgresql.js';
import { MAX_QUERY_LIMIT } from '../../semantic/normalize-query.ts';
import type { QueryFilter } from '../../semantic/query-types.ts';
import { SqlError } from './sql-error.ts';
import { PG_TYPES, type PgType, type SqlColumn, type SqlTable } from './tables.ts';

/**
 * SQL over a view -> the Cube query the REST /load path runs, following Cube's SQL API: the
 * selected dimensions (grouped by), measures through MEASURE(m) or their own aggregate (SUM of a
 * sum measure, COUNT(*) for the view's count), DATE_TRUNC('month', time) as a time dimension with
 * a granularity, WHERE on dimensions and HAVING on measures as Cube filters, ORDER BY, LIMIT and
 * OFFSET. Anything else is a SqlError naming the construct; nothing here ever writes SQL for the
 * warehouse: Cube's compiler does, after the access policies, on the same path as /load.
 */

const { Parser } = nodeSqlParser as unknown as {
  Parser: new () => { parse(sql: string, options: object): { ast: any; tableList: string[] } };
};
const parser = new Parser();

export interface OutputColumn {
  name: string;
  /** The key of the value in a /load data row (member, or member.granularity). */
  key: string;
  pg: PgType;
}

export interface TranslatedQuery {
  table: SqlTable;
  /** The Cube query, as a client would POST it to /cubejs-api/v1/load. */
  query: Record<string, any>;
  columns: OutputColumn[];
}

const GRANULARITIES = new Set(['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);

const unsupported = (what: string) => new SqlError('0A000', `${what} is not supported by the SQL door`);

export interface ParsedSelect {
  ast: any;
  /** Every relation the statement reads, subqueries included (node-sql-parser's tableList). */
  tables: { schema: string | null; name: string }[];
}

/**
 * Parsed statements by text: a BI tool sends the same few statements again and again, and
 * node-sql-parser takes about 2 ms for a dashboard's SELECT. The AST is only read, never changed.
 */
const parsedStatements = new LRUCache<string, ParsedSelect>({ max: 500 });

/** Parses one SELECT statement (the caller has split statements and classified it). */
export function parseSelect(sql: string): ParsedSelect {
  const cached = parsedStatements.get(sql);
  if (cached) return cached;
  const parsed = parseUncached(sql);
  if (sql.length <= 20_000) parsedStatements.set(sql, parsed);
  return parsed;
}

function parseUncached(sql: string): ParsedSelect {
  let parsed: { ast: any; tableList: string[] };
  try {
    parsed = parser.parse(sql, { database: 'postgresql' });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new SqlError('42601', `syntax error: ${message.slice(0, 300)}`);
  }
  let ast = parsed.ast;
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new SqlError('0A000', 'multiple statements in one query are not supported by the SQL door');
    ast = ast[0];
  }
  // Entries read "select::schema::table" (schema "null" when not written).
  const tables = parsed.tableList.map((entry) => {
    const [, schema, ...name] = entry.split('::');
    return { schema: schema === 'null' || schema === undefined ? null : schema, name: name.join('::') };
  });
  return { ast, tables };
}

type Resolved =
  | { kind: 'dimension'; column: SqlColumn }
  | { kind: 'time'; column: SqlColumn; granularity: string }
  | { kind: 'measure'; column: SqlColumn };

/** An identifier's name: unquoted ones fold to lower case, as in Postgres; "Quoted" ones keep theirs. */
function identifier(value: any): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'expr' in value) return identifier(value.expr);
  if (value && typeof value === 'object' && 'value' in value)
    return value.type === 'default' ? String(value.value).toLowerCase() : String(value.value);
  throw unsupported('this identifier');
}

function functionName(expr: any): string {
  const name = expr?.name;
  if (typeof name === 'string') return name.toUpperCase();
  const parts = Array.isArray(name?.name) ? name.name : [];
  return parts
    .map((p: any) => String(p.value))
    .join('.')
    .toUpperCase();
}

function argsOf(expr: any): any[] {
  const args = expr?.args;
  if (!args) return [];
  if (Array.isArray(args.value)) return args.value;
  if (args.expr) return [args.expr];
  return [];
}

const AGGREGATES: Record<string, ReadonlySet<string>> = {
  SUM: new Set(['sum', 'count', 'countDistinct', 'countDistinctApprox', 'runningTotal']),
  COUNT: new Set(['count', 'countDistinct', 'countDistinctApprox']),
  MIN: new Set(['min']),
  MAX: new Set(['max']),
  AVG: new Set(['avg']),
};

class Scope {
  readonly columns = new Map<string, SqlColumn>();
  readonly qualifiers: Set<string>;

  constructor(
    readonly table: SqlTable,
    alias: string | null,
  ) {
    for (const column of table.columns) this.columns.set(column.name, column);
    this.qualifiers = new Set([table.name, ...(alias ? [alias] : [])]);
  }

  column(ref: any): SqlColumn {
    if (ref.schema && ref.schema !== 'public')
      throw new SqlError('42P01', `missing FROM-clause entry for table "${ref.schema}.${ref.table}"`);
    const table = ref.table ? identifier(ref.table) : null;
    if (table && !this.qualifiers.has(table)) throw new SqlError('42P01', `missing FROM-clause entry for table "${table}"`);
    const name = identifier(ref.column);
    const found = this.columns.get(name);
    if (!found) throw new SqlError('42703', `column "${name}" does not exist in ${this.table.name}`);
    return found;
  }
}

function resolve(expr: any, scope: Scope, where: string): Resolved {
  if (expr?.type === 'column_ref') {
    if (identifier(expr.column) === '*') throw unsupported(`* in ${where}`);
    const column = scope.column(expr);
    if (column.kind === 'segment') {
      throw unsupported(`segment "${column.name}" in ${where} (a segment only filters: WHERE ${column.name} AND ...)`);
    }
    return column.kind === 'measure' ? { kind: 'measure', column } : { kind: 'dimension', column };
  }
  if (expr?.type === 'function') {
    const name = functionName(expr);
    const args = argsOf(expr);
    if (name === 'MEASURE') {
      if (args.length !== 1 || args[0]?.type !== 'column_ref') throw new SqlError('42883', 'MEASURE() takes one measure column');
      const column = scope.column(args[0]);
      if (column.kind !== 'measure') throw new SqlError('42883', `MEASURE(${column.name}): "${column.name}" is a dimension, not a measure`);
      return { kind: 'measure', column };
    }
    if (name === 'DATE_TRUNC') {
      const [unit, target] = args;
      if (args.length !== 2 || !['single_quote_string', 'string'].includes(unit?.type) || target?.type !== 'column_ref') {
        throw new SqlError('42883', "DATE_TRUNC takes a unit in quotes and a time column, e.g. DATE_TRUNC('month', ordered_at)");
      }
      const granularity = String(unit.value).toLowerCase();
      if (!GRANULARITIES.has(granularity))
        throw new SqlError('22023', `DATE_TRUNC unit "${unit.value}" is not one of ${[...GRANULARITIES].join(', ')}`);
      const column = scope.column(target);
      if (column.kind !== 'dimension' || column.type !== 'time')
        throw new SqlError('42883', `DATE_TRUNC(..., ${column.name}): "${column.name}" is not a time dimension`);
      return { kind: 'time', column, granularity };
    }
    throw unsupported(`function ${name}()`);
  }
  if (expr?.type === 'aggr_func') {
    const name = String(expr.name).toUpperCase();
    const inner = expr.args?.expr;
    if (name === 'COUNT' && inner?.type === 'star') {
      const count = scope.columns.get('count');
      if (!count || count.kind !== 'measure') throw unsupported(`COUNT(*) on ${scope.table.name}, which has no count measure,`);
      return { kind: 'measure', column: count };
    }
    if (inner?.type !== 'column_ref') throw unsupported(`${name}() of an expression`);
    const column = scope.column(inner);
    if (column.kind !== 'measure') throw unsupported(`${name}(${column.name}) over a dimension (use one of the view's measures)`);
    const distinct = expr.args?.distinct === 'DISTINCT';
    const allowed = AGGREGATES[name];
    const aggType = column.aggType ?? column.type;
    if (!allowed || !allowed.has(aggType) || (distinct && !aggType.startsWith('countDistinct'))) {
      throw new SqlError(
        '42883',
        `${name}(${distinct ? 'DISTINCT ' : ''}${column.name}) does not match the measure's type (${aggType}): use MEASURE(${column.name})`,
      );
    }
    return { kind: 'measure', column };
  }
  throw unsupported(`${describe(expr)} in ${where}`);
}

function describe(expr: any): string {
  switch (expr?.type) {
    case 'binary_expr':
      return `the operator ${expr.operator}`;
    case 'cast':
      return 'CAST';
    case 'case':
      return 'CASE';
    case 'unary_expr':
      return `the operator ${expr.operator}`;
    case undefined:
      return 'this expression';
    default:
      return `an expression of type ${expr.type}`;
  }
}

const keyOf = (resolved: Resolved) =>
  resolved.kind === 'time' ? `${resolved.column.member}.${resolved.granularity}` : resolved.column.member;
const sameResolved = (a: Resolved, b: Resolved) => keyOf(a) === keyOf(b);

/**
 * TO_TIMESTAMP('2025-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') and TO_DATE('2025-01-01', 'YYYY-MM-DD'):
 * how Superset's Postgres engine spec writes a time range's bounds. With exactly those formats they are the
 * timestamp literal itself; any other format is not read (undefined, and the caller refuses the function).
 */
function timestampFunctionLiteral(node: any): string | undefined {
  if (node?.type !== 'function') return undefined;
  const name = functionName(node);
  if (name !== 'TO_TIMESTAMP' && name !== 'TO_DATE') return undefined;
  const [value, format] = argsOf(node);
  const isText = (n: any) => ['single_quote_string', 'string'].includes(n?.type);
  if (argsOf(node).length !== 2 || !isText(value) || !isText(format)) return undefined;
  const expected = name === 'TO_DATE' ? ['YYYY-MM-DD'] : ['YYYY-MM-DD HH24:MI:SS.US', 'YYYY-MM-DD HH24:MI:SS'];
  return expected.includes(String(format.value).toUpperCase()) ? String(value.value) : undefined;
}

/** A literal value as the text Cube filters take; null for NULL. */
function literal(expr: any, column: SqlColumn): string | null {
  let node = expr;
  if (node?.ast) throw unsupported('a subquery');
  if (node?.type === 'cast') node = node.expr;
  const timestampText = timestampFunctionLiteral(node);
  if (timestampText !== undefined) node = { type: 'single_quote_string', value: timestampText };
  switch (node?.type) {
    case 'null':
      return null;
    case 'number':
      return String(node.value);
    case 'bool':
    case 'boolean':
      return node.value ? 'true' : 'false';
    case 'single_quote_string':
    case 'string':
    case 'double_quote_string':
    case 'natural_string':
    case 'regex_string': {
      const text = String(node.value);
      if (column.type === 'time') {
        const match = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?$/.exec(text.trim());
        if (!match)
          throw new SqlError(
            '22007',
            `invalid timestamp "${text.slice(0, 60)}" for ${column.name} (YYYY-MM-DD[ HH:MM[:SS]], no time zone)`,
          );
        return match[2] ? `${match[1]}T${match[2].length === 5 ? `${match[2]}:00` : match[2]}` : match[1]!;
      }
      return text;
    }
    default:
      throw unsupported(`${describe(node)} as a filter value`);
  }
}

function likeFilter(member: string, pattern: string, negated: boolean): QueryFilter {
  const body = pattern.replace(/^%/, '').replace(/%$/, '');
  if (/[%_\\]/.test(body)) throw unsupported(`the LIKE pattern '${pattern}' (only 'x%', '%x' and '%x%' translate)`);
  const starts = pattern.startsWith('%');
  const ends = pattern.endsWith('%') && pattern.length > 1;
  const operator = starts && ends ? 'contains' : ends ? 'startsWith' : starts ? 'endsWith' : 'equals';
  const op = negated
    ? ({ contains: 'notContains', startsWith: 'notStartsWith', endsWith: 'notEndsWith', equals: 'notEquals' } as const)[operator]
    : operator;
  return { member, operator: op, values: [body] };
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '<>': '<>', '!=': '!=' };
const COMPARE: Record<string, 'gt' | 'gte' | 'lt' | 'lte' | 'equals' | 'notEquals'> = {
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
  '=': 'equals',
  '<>': 'notEquals',
  '!=': 'notEquals',
};

interface FilterContext {
  scope: Scope;
  clause: 'WHERE' | 'HAVING';
  /** HAVING may name a selected measure by its alias. */
  aliases: Map<string, Resolved>;
}

function filterMember(expr: any, context: FilterContext): SqlColumn {
  let resolved: Resolved;
  if (
    expr?.type === 'column_ref' &&
    !expr.table &&
    context.aliases.has(identifier(expr.column)) &&
    !context.scope.columns.has(identifier(expr.column))
  ) {
    resolved = context.aliases.get(identifier(expr.column))!;
  } else {
    resolved = resolve(expr, context.scope, context.clause);
  }
  if (resolved.kind === 'time') throw unsupported(`DATE_TRUNC in ${context.clause} (filter on the time column itself)`);
  if (context.clause === 'WHERE' && resolved.kind === 'measure') {
    throw new SqlError('42803', `measure "${resolved.column.name}" in WHERE: filter measures in HAVING`);
  }
  if (context.clause === 'HAVING' && resolved.kind !== 'measure') {
    throw new SqlError('42803', `dimension "${resolved.column.name}" in HAVING: filter dimensions in WHERE`);
  }
  return resolved.column;
}

const isColumnish = (expr: any) => ['column_ref', 'function', 'aggr_func'].includes(expr?.type);

function toFilter(expr: any, context: FilterContext): QueryFilter {
  if (expr?.parentheses && expr.type !== 'binary_expr') return toFilter({ ...expr, parentheses: false }, context);
  if (expr?.type !== 'binary_expr') {
    if (expr?.type === 'column_ref' || expr?.type === 'function') {
      const column = filterMember(expr, context);
      if (column.type === 'boolean') return { member: column.member, operator: 'equals', values: ['true'] };
    }
    throw unsupported(`${describe(expr)} as a ${context.clause} condition`);
  }
  const operator = String(expr.operator).toUpperCase();
  if (operator === 'AND' || operator === 'OR') {
    const parts = [toFilter(expr.left, context), toFilter(expr.right, context)];
    const key = operator === 'AND' ? 'and' : 'or';
    const flat = parts.flatMap((part) => (key in part ? (part as any)[key] : [part]));
    return key === 'and' ? { and: flat } : { or: flat };
  }
  let left = expr.left;
  let right = expr.right;
  let op = operator;
  if (!isColumnish(left) && isColumnish(right) && FLIP[op]) [left, right, op] = [right, left, FLIP[op]!];
  const column = filterMember(left, context);
  const member = column.member;
  switch (op) {
    case '=':
    case '<>':
    case '!=':
    case '<':
    case '>':
    case '<=':
    case '>=': {
      const value = literal(right, column);
      if (value === null) throw new SqlError('0A000', `${column.name} ${op} NULL is never true: use IS NULL or IS NOT NULL`);
      return { member, operator: COMPARE[op]!, values: [value] };
    }
    case 'IN':
    case 'NOT IN': {
      if (right?.type !== 'expr_list') throw unsupported(`${op} with a subquery`);
      const values = right.value.map((v: any) => literal(v, column));
      if (values.some((v: string | null) => v === null)) throw unsupported(`NULL in an ${op} list`);
      return { member, operator: op === 'IN' ? 'in' : 'notIn', values };
    }
    case 'BETWEEN': {
      const [low, high] = right?.value ?? [];
      const a = literal(low, column);
      const b = literal(high, column);
      if (a === null || b === null) throw unsupported('BETWEEN with NULL');
      return {
        and: [
          { member, operator: 'gte', values: [a] },
          { member, operator: 'lte', values: [b] },
        ],
      };
    }
    case 'LIKE':
    case 'NOT LIKE':
    case 'ILIKE':
    case 'NOT ILIKE': {
      const pattern = literal(right, column);
      if (pattern === null) throw unsupported(`${op} NULL`);
      return likeFilter(member, pattern, op.startsWith('NOT'));
    }
    case 'IS':
    case 'IS NOT':
    case 'ISNOT': {
      const negated = op !== 'IS';
      if (right?.type === 'null') return { member, operator: negated ? 'set' : 'notSet' };
      if (right?.type === 'bool' || right?.type === 'boolean') {
        return { member, operator: negated ? 'notEquals' : 'equals', values: [right.value ? 'true' : 'false'] };
      }
      throw unsupported(`IS ${describe(right)}`);
    }
    default:
      throw unsupported(`the operator ${op}`);
  }
}

/** The segment a WHERE term names, if it is one: `seg`, `seg = TRUE` or `seg IS TRUE`. */
function segmentOf(term: any, scope: Scope): string | undefined {
  const ref = term?.type === 'column_ref' ? term : undefined;
  const compared =
    term?.type === 'binary_expr' &&
    ['=', 'IS'].includes(String(term.operator).toUpperCase()) &&
    term.left?.type === 'column_ref' &&
    ['bool', 'boolean'].includes(term.right?.type) &&
    term.right.value === true
      ? term.left
      : undefined;
  const target = ref ?? compared;
  if (!target) return undefined;
  const column = scope.column(target);
  return column.kind === 'segment' ? column.member : undefined;
}

function integerOf(node: any, what: string): number {
  const value = node?.type === 'number' ? Number(node.value) : NaN;
  if (!Number.isInteger(value) || value < 0) throw new SqlError('22023', `${what} must be a whole number >= 0`);
  return value;
}

interface TimeDimension {
  dimension: string;
  granularity?: string;
  dateRange?: [string, string];
}

/** A filter value on a time member as a full timestamp (a date is its midnight), moved by `shiftMs`. */
function timestampOf(value: string, shiftMs = 0): string {
  const full = /T/.test(value) ? value : `${value}T00:00:00`;
  const date = new Date(`${full}Z`);
  return new Date(date.getTime() + shiftMs).toISOString().slice(0, 23);
}

/**
 * Cube's SQL API reading of `t >= a AND t < b`: a lower and an upper bound on the same time
 * dimension, both at the top level of WHERE, become that time dimension's dateRange [a, b - 1 ms]
 * (the way Cube's own SQL API writes them), so the query is the one a REST client writes and Cube's
 * rollup matching sees a date range. Bounds keep their SQL meaning: '<= 2025-01-31' ends at that
 * midnight, not at the end of the day as a date-only Cube dateRange would.
 */
function foldDateRanges(filters: QueryFilter[], timeDimensions: TimeDimension[], table: SqlTable): void {
  const timeMembers = new Set(table.columns.filter((c) => c.kind === 'dimension' && c.type === 'time').map((c) => c.member));
  for (const member of timeMembers) {
    const bounds = filters.filter(
      (f): f is { member: string; operator: 'gt' | 'gte' | 'lt' | 'lte'; values: string[] } =>
        'member' in f && f.member === member && ['gt', 'gte', 'lt', 'lte'].includes(f.operator),
    );
    const lower = bounds.filter((f) => f.operator === 'gt' || f.operator === 'gte');
    const upper = bounds.filter((f) => f.operator === 'lt' || f.operator === 'lte');
    if (lower.length !== 1 || upper.length !== 1) continue;
    const from = timestampOf(lower[0]!.values[0]!, lower[0]!.operator === 'gt' ? 1 : 0);
    const to = timestampOf(upper[0]!.values[0]!, upper[0]!.operator === 'lt' ? -1 : 0);
    if (from > to) continue; // an empty range: left to the filters, which answer no rows
    for (const bound of [lower[0]!, upper[0]!]) filters.splice(filters.indexOf(bound), 1);
    const entries = timeDimensions.filter((t) => t.dimension === member);
    if (entries.length) for (const entry of entries) entry.dateRange = [from, to];
    else timeDimensions.push({ dimension: member, dateRange: [from, to] });
  }
}

const outputName = (item: any, resolved: Resolved) => (typeof item.as === 'string' && item.as ? item.as : resolved.column.name);

/**
 * Translates a parsed SELECT on one of `tables` to a Cube query. `timezone` is the session's
 * (SET TIME ZONE), applied as the query's time zone like a REST client's `timezone`.
 */
export function translateSelect(ast: any, tables: SqlTable[], timezone: string): TranslatedQuery {
  if (ast?.type !== 'select') throw unsupported(`${String(ast?.type ?? 'this').toUpperCase()} statements`);
  if (ast.with) throw unsupported('WITH (common table expressions)');
  if (ast._next || ast.set_op) throw unsupported(`${String(ast.set_op ?? 'UNION').toUpperCase()}`);
  if (ast.window) throw unsupported('WINDOW');
  if (ast.into?.expr || ast.into?.type) throw unsupported('SELECT INTO');
  const from = Array.isArray(ast.from) ? ast.from : [];
  if (from.length === 0) throw unsupported('SELECT without FROM on a view');
  if (from.length > 1 || from[0].join) throw unsupported('JOIN (each view is already joined; query one view)');
  const source = from[0];
  if (source.expr) throw unsupported('a subquery in FROM');
  if (typeof source.table !== 'string') throw unsupported('this FROM item');
  if (source.db && source.db !== 'public') throw new SqlError('42P01', `relation "${source.db}.${source.table}" does not exist`);
  // The parser keeps a table name's case whether quoted or not: an exact match, else Postgres' folding.
  const table = tables.find((t) => t.name === source.table) ?? tables.find((t) => t.name === String(source.table).toLowerCase());
  if (!table)
    throw new SqlError(
      '42P01',
      `relation "${source.table}" does not exist (the views this token may query: ${tables.map((t) => t.name).join(', ')})`,
    );
  const scope = new Scope(table, source.as ?? null);

  if (!Array.isArray(ast.columns)) throw unsupported('SELECT *: name the columns (dimensions, and measures with MEASURE())');
  const items: { name: string; resolved: Resolved }[] = ast.columns.map((item: any) => {
    if (item?.expr?.type === 'column_ref' && identifier(item.expr.column) === '*')
      throw unsupported('SELECT *: name the columns (dimensions, and measures with MEASURE())');
    const resolved = resolve(item.expr, scope, 'the select list');
    return { name: outputName(item, resolved), resolved };
  });
  // Output names as HAVING may use them (unquoted ones compare folded, as Postgres folds both sides).
  const aliases = new Map(
    items.flatMap((item) => [[item.name, item.resolved] as const, [item.name.toLowerCase(), item.resolved] as const]),
  );

  const measures: string[] = [];
  const dimensions: string[] = [];
  const timeDimensions: TimeDimension[] = [];
  for (const { resolved } of items) {
    if (resolved.kind === 'measure' && !measures.includes(resolved.column.member)) measures.push(resolved.column.member);
    if (resolved.kind === 'dimension' && !dimensions.includes(resolved.column.member)) dimensions.push(resolved.column.member);
    if (
      resolved.kind === 'time' &&
      !timeDimensions.some((t) => t.dimension === resolved.column.member && t.granularity === resolved.granularity)
    ) {
      timeDimensions.push({ dimension: resolved.column.member, granularity: resolved.granularity });
    }
  }

  // The item an ORDER BY / GROUP BY entry names: ordinal, output name, or the same expression.
  const itemFor = (expr: any, clause: string) => {
    if (expr?.type === 'number') {
      const index = Number(expr.value);
      const item = items[index - 1];
      if (!Number.isInteger(index) || !item) throw new SqlError('42P10', `${clause} position ${expr.value} is not in select list`);
      return item;
    }
    if (expr?.type === 'column_ref' && !expr.table) {
      const name = identifier(expr.column);
      const byName = items.find((item) => item.name === name) ?? items.find((item) => item.name.toLowerCase() === name);
      if (byName) return byName;
    }
    const resolved = resolve(expr, scope, clause);
    const item = items.find((candidate) => sameResolved(candidate.resolved, resolved));
    if (!item) throw unsupported(`${clause} on "${resolved.column.name}", which is not in the select list,`);
    return item;
  };

  const grouped = items.filter((item) => item.resolved.kind !== 'measure');
  const groupBy: any[] = Array.isArray(ast.groupby?.columns) ? ast.groupby.columns : Array.isArray(ast.groupby) ? ast.groupby : [];
  if (groupBy.length) {
    const named = groupBy.map((expr) => itemFor(expr, 'GROUP BY'));
    for (const item of named) if (item.resolved.kind === 'measure') throw new SqlError('42803', `aggregate "${item.name}" in GROUP BY`);
    const missing = grouped.find((item) => !named.some((n) => sameResolved(n.resolved, item.resolved)));
    if (missing)
      throw new SqlError('42803', `column "${missing.name}" must appear in the GROUP BY clause or be used in an aggregate function`);
  } else if (measures.length && grouped.length) {
    throw new SqlError('42803', `column "${grouped[0]!.name}" must appear in the GROUP BY clause or be used in an aggregate function`);
  }
  // Dimensions alone are grouped too (Cube's query is always grouped here): SELECT a FROM v is SELECT DISTINCT a.

  const filters: QueryFilter[] = [];
  const addAll = (filter: QueryFilter) => {
    if ('and' in filter) filters.push(...filter.and);
    else filters.push(filter);
  };
  // Top-level AND terms that name a segment (`seg`, `seg = TRUE`, `seg IS TRUE`) are Cube segments.
  const segments: string[] = [];
  const conjuncts = (node: any): any[] =>
    node?.type === 'binary_expr' && String(node.operator).toUpperCase() === 'AND'
      ? [...conjuncts(node.left), ...conjuncts(node.right)]
      : [node];
  for (const term of ast.where ? conjuncts(ast.where) : []) {
    const segment = segmentOf(term, scope);
    if (segment) {
      if (!segments.includes(segment)) segments.push(segment);
    } else addAll(toFilter(term, { scope, clause: 'WHERE', aliases }));
  }
  if (ast.having) {
    if (!measures.length && !groupBy.length) throw new SqlError('42803', 'HAVING without an aggregate or GROUP BY');
    addAll(toFilter(ast.having, { scope, clause: 'HAVING', aliases }));
  }

  foldDateRanges(filters, timeDimensions, table);

  const order: [string, 'asc' | 'desc'][] = [];
  for (const entry of Array.isArray(ast.orderby) ? ast.orderby : []) {
    const item = itemFor(entry.expr, 'ORDER BY');
    if (entry.nulls) throw unsupported(`ORDER BY ... ${entry.nulls}`);
    // Cube orders a time dimension by its member name (the granularity is the timeDimensions entry's).
    order.push([item.resolved.column.member, String(entry.type ?? 'ASC').toUpperCase() === 'DESC' ? 'desc' : 'asc']);
  }

  let limit: number | undefined;
  let offset: number | undefined;
  const limitValues: any[] = Array.isArray(ast.limit?.value) ? ast.limit.value : [];
  if (limitValues.length) {
    if (ast.limit.seperator === ',') {
      offset = integerOf(limitValues[0], 'OFFSET');
      limit = integerOf(limitValues[1], 'LIMIT');
    } else {
      limit = integerOf(limitValues[0], 'LIMIT');
      if (limitValues[1]) offset = integerOf(limitValues[1], 'OFFSET');
    }
    if (ast.limit.seperator === 'offset' && limitValues.length === 1) {
      offset = limit;
      limit = undefined;
    }
  }
  if (limit !== undefined && limit > MAX_QUERY_LIMIT) {
    throw new SqlError('54000', `LIMIT ${limit} is above the semantic layer's maximum of ${MAX_QUERY_LIMIT} rows per query`);
  }

  const query: Record<string, any> = {
    ...(measures.length ? { measures } : {}),
    ...(dimensions.length ? { dimensions } : {}),
    ...(timeDimensions.length ? { timeDimensions } : {}),
    ...(filters.length ? { filters } : {}),
    ...(segments.length ? { segments } : {}),
    ...(order.length ? { order } : {}),
    // Without LIMIT a SQL query means every row: the layer's maximum (Cube's REST default is 10,000).
    limit: limit ?? MAX_QUERY_LIMIT,
    ...(offset ? { offset } : {}),
    timezone,
  };
  if (!measures.length && !dimensions.length && !timeDimensions.length) throw unsupported('a query without columns');
  const columns = items.map((item) => ({
    name: item.name,
    key: keyOf(item.resolved),
    pg: item.resolved.kind === 'time' ? PG_TYPES.timestamp : item.resolved.column.pg,
  }));
  return { table, query, columns };
}
