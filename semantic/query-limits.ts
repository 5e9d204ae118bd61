import { BadRequestError } from '../shared/errors.ts';

/**
 * How large a semantic query may be. Each limit is far above what a dashboard or a BI tool sends
 * (the executive dashboard's largest query has 6 members and 3 filters) and low enough that the
 * largest allowed query plans in milliseconds, so one caller cannot stall the event loop for the
 * others (tests/unit/query-limits.test.ts sends it while timing /health). Checked before Cube's
 * compiler or DuckDB sees the query; a query over a limit is a 400 naming the field and the limit.
 */
export const QUERY_LIMITS = {
  /** Nesting of any JSON in the request (objects and arrays), checked before anything walks it. */
  jsonDepth: 32,
  /** Nesting of and/or filter groups. */
  filterDepth: 8,
  /** Member filters in the whole query, nested ones included. */
  filters: 100,
  /** Values of one filter (e.g. an `in` list). */
  valuesPerFilter: 1_000,
  /** Values of all filters together. */
  values: 5_000,
  /** Characters of one filter value. */
  valueLength: 1_000,
  /** Measures, dimensions, segments, time dimensions and order entries together. */
  members: 100,
  /** Date ranges of a compareDateRange (each one is a query of its own). */
  compareDateRanges: 12,
} as const;

/** Thrown when JSON is nested deeper than the limit; says where the limit is. */
function tooDeep(where: string): BadRequestError {
  return new BadRequestError(
    `Invalid query format: ${where} is nested more than ${QUERY_LIMITS.jsonDepth} levels deep (the limit of query JSON)`,
  );
}

/**
 * Depth of JSON text, scanned without parsing (strings skipped), so a 10,000-deep array is refused
 * before JSON.parse or anything recursive sees it.
 */
export function checkJsonTextDepth(text: string, where = 'query'): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth += 1;
      if (depth > QUERY_LIMITS.jsonDepth) throw tooDeep(where);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth -= 1;
  }
}

/** Depth of a parsed value, walked with an explicit stack (no recursion to overflow). */
export function checkJsonValueDepth(value: unknown, where = 'query'): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > QUERY_LIMITS.jsonDepth) throw tooDeep(where);
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** Running totals of one query's filters, checked as normalisation walks them. */
export class FilterBudget {
  private filters = 0;
  private values = 0;

  /** Called for each and/or group at its nesting depth (1 for a top-level group). */
  group(depth: number, path: string): void {
    if (depth > QUERY_LIMITS.filterDepth) {
      throw new BadRequestError(
        `Invalid query format: ${path}: filter groups are nested more than ${QUERY_LIMITS.filterDepth} levels deep`,
      );
    }
  }

  /** Called for each member filter with its values. */
  filter(path: string, values: readonly unknown[]): void {
    this.filters += 1;
    if (this.filters > QUERY_LIMITS.filters)
      throw new BadRequestError(`Invalid query format: ${path}: more than ${QUERY_LIMITS.filters} filters in the query`);
    if (values.length > QUERY_LIMITS.valuesPerFilter) {
      throw new BadRequestError(
        `Invalid query format: ${path}.values: ${values.length} values, more than the ${QUERY_LIMITS.valuesPerFilter} a filter may have`,
      );
    }
    this.values += values.length;
    if (this.values > QUERY_LIMITS.values)
      throw new BadRequestError(`Invalid query format: ${path}.values: more than ${QUERY_LIMITS.values} filter values in the query`);
    values.forEach((value, i) => {
      if (typeof value === 'string' && value.length > QUERY_LIMITS.valueLength) {
        throw new BadRequestError(
          `Invalid query format: ${path}.values.${i}: ${value.length} characters, more than ${QUERY_LIMITS.valueLength}`,
        );
      }
    });
  }
}

/** The member count limit over the lists a query names. */
export function checkMemberCount(lists: Record<string, unknown[] | Record<string, unknown> | undefined>): void {
  const count = Object.values(lists).reduce<number>(
    (sum, list) => sum + (list === undefined ? 0 : Array.isArray(list) ? list.length : Object.keys(list).length),
    0,
  );
  if (count > QUERY_LIMITS.members) {
    throw new BadRequestError(
      `Invalid query format: the query names ${count} members (${Object.keys(lists).join(', ')} together), more than ${QUERY_LIMITS.members}`,
    );
  }
}
