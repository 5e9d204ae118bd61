import { z } from 'zod';
import { BadRequestError } from '../shared/errors.ts';
import { isAbsoluteDate, resolveDateRange } from './date-range.ts';
import { checkJsonTextDepth, checkJsonValueDepth, checkMemberCount, FilterBudget, QUERY_LIMITS } from './query-limits.ts';
import {
  FILTER_OPERATORS,
  type FilterOperator,
  type MemberFilter,
  type NormalizedQuery,
  type QueryFilter,
  type QueryOrderItem,
  type QueryTimeDimension,
} from './query-types.ts';

/**
 * Validation and normalisation of a Cube REST query, following Cube's API gateway (query.ts:
 * querySchema and normalizeQuery) so that clients written for Cube behave the same here:
 * the same accepted shape, the same defaults (limit 10,000, at most 50,000, time zone), `dimension`
 * renamed to `member` in filters, filter values as strings, "cube.time.granularity" dimensions
 * moved to timeDimensions, date ranges resolved in the query's time zone, order as [{id, desc}].
 * Errors are 400s whose message names the offending field; size limits are in query-limits.ts.
 */

/** Cube's CUBEJS_DB_QUERY_DEFAULT_LIMIT and CUBEJS_DB_QUERY_LIMIT defaults. */
export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 50_000;

const MEMBER = /^[a-zA-Z0-9_]+\.[a-zA-Z0-9_]+$/;
const MEMBER_OR_GRANULARITY = /^[a-zA-Z0-9_]+\.[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)?$/;

const member = z.string().regex(MEMBER, 'must be a member name like "cube.member"');
const memberOrGranularity = z.string().regex(MEMBER_OR_GRANULARITY, 'must be a member name like "cube.member" or "cube.time.granularity"');
const direction = z.enum(['asc', 'desc']);
const cacheMode = z.enum(['stale-if-slow', 'stale-while-revalidate', 'must-revalidate', 'no-cache']);

const timeDimension = z.strictObject({
  dimension: member,
  granularity: z.string().max(128).optional(),
  dateRange: z.union([z.string(), z.array(z.string()).min(1).max(2)]).optional(),
  compareDateRange: z.array(z.unknown()).optional(),
});

const querySchema = z.strictObject({
  measures: z.array(member).optional(),
  dimensions: z.array(memberOrGranularity).optional(),
  segments: z.array(member).optional(),
  // Filters are checked by hand below: a zod union reports "Invalid input" without saying which part failed.
  filters: z.array(z.unknown()).optional(),
  timeDimensions: z.array(timeDimension).optional(),
  order: z
    .union([z.record(memberOrGranularity, direction), z.array(z.tuple([memberOrGranularity, direction]))], {
      error: 'must be {"cube.member": "asc" | "desc", ...} or [["cube.member", "asc" | "desc"], ...]',
    })
    .optional(),
  timezone: z.string().optional(),
  limit: z.int().min(0).optional(),
  offset: z.int().min(0).optional(),
  total: z.boolean().optional(),
  ungrouped: z.boolean().optional(),
  responseFormat: z.enum(['default', 'compact', 'columnar']).optional(),
  joinHints: z.array(z.array(z.string())).optional(),
  cache: cacheMode.optional(),
  cacheMode: cacheMode.optional(),
  renewQuery: z.boolean().optional(),
});

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length ? issue.path.map(String).join('.') : 'query';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses the `query` parameter: a JSON string (GET) or an object (POST body), as Cube's parseQueryParam. */
export function parseQueryParam(query: unknown): unknown {
  if (query === undefined || query === null || query === '' || query === 'undefined') {
    throw new BadRequestError('Query param is required');
  }
  if (typeof query === 'string') {
    checkJsonTextDepth(query);
    try {
      return JSON.parse(query);
    } catch (error) {
      throw new BadRequestError(`Unable to decode query param as JSON, error: ${(error as Error).message}`);
    }
  }
  checkJsonValueDepth(query);
  return query;
}

/** Valid zones seen so far: building an Intl.DateTimeFormat per query was the largest CPU cost of a cached /load (profiled). */
const canonicalZones = new Map<string, string>();

/** The canonical IANA name of a time zone, or a 400 naming the bad value. */
export function canonicalTimezone(timezone: string): string {
  const known = canonicalZones.get(timezone);
  if (known) return known;
  try {
    const canonical = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    if (canonicalZones.size < 1_000) canonicalZones.set(timezone, canonical); // only valid names; bounded
    return canonical;
  } catch {
    throw new BadRequestError(`Invalid query format: timezone must be a valid IANA time zone, got "${timezone}"`);
  }
}

function normalizeFilter(input: unknown, path: string, timezone: string, now: Date, budget: FilterBudget, depth = 0): QueryFilter {
  const fail = (message: string): never => {
    throw new BadRequestError(`Invalid query format: ${path}: ${message}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('must be an object');
  const filter = input as Record<string, unknown>;
  for (const group of ['or', 'and'] as const) {
    if (group in filter) {
      if (Object.keys(filter).length !== 1) fail(`a "${group}" group takes no other keys`);
      const items = filter[group];
      if (!Array.isArray(items)) return fail(`"${group}" must be an array of filters`);
      budget.group(depth + 1, path);
      const normalized = items.map((item, i) => normalizeFilter(item, `${path}.${group}.${i}`, timezone, now, budget, depth + 1));
      return group === 'or' ? { or: normalized } : { and: normalized };
    }
  }
  const unknownKeys = Object.keys(filter).filter((key) => !['member', 'dimension', 'operator', 'values'].includes(key));
  if (unknownKeys.length) fail(`unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `"${k}"`).join(', ')}`);
  const name = filter.member ?? filter.dimension;
  if (filter.member !== undefined && filter.dimension !== undefined) fail('give either "member" or "dimension", not both');
  if (typeof name !== 'string' || !MEMBER.test(name)) return fail('"member" must be a member name like "cube.member"');
  const operator = filter.operator;
  if (typeof operator !== 'string') return fail(`"operator" is required for filter on ${name}`);
  if (!(FILTER_OPERATORS as readonly string[]).includes(operator)) {
    return fail(`operator "${operator}" is not supported (one of ${FILTER_OPERATORS.join(', ')})`);
  }
  const values = filter.values;
  if (values !== undefined && !Array.isArray(values)) fail('"values" must be an array');
  const list = (values as unknown[] | undefined) ?? [];
  budget.filter(path, list);
  if (list.length === 0 && !['set', 'notSet'].includes(operator)) fail(`"values" are required for operator "${operator}"`);
  const stringValues = list.map((value, i) => {
    if (value === null) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    return fail(`values.${i} must be a string, number, boolean or null`);
  });
  const nullAt = stringValues.indexOf(null);
  if (nullAt !== -1 && !NULL_TESTS[operator])
    fail(`values.${nullAt}: null is a value of equals, notEquals, in and notIn only (use "set" or "notSet")`);
  // Values that are all null: Cube's query builder writes `IN ()` for two or more nulls (and for
  // `in` / `notIn` with one), which no database parses. They mean "is (not) null": say so.
  if (stringValues.length > 0 && stringValues.every((value) => value === null) && NULL_TESTS[operator]) {
    return { member: name, operator: NULL_TESTS[operator]! };
  }
  const normalized: MemberFilter = {
    member: name,
    operator: operator as FilterOperator,
    ...(values !== undefined ? { values: stringValues } : {}),
  };
  return normalizeDateFilterValues(normalized, timezone, now);
}

const NULL_TESTS: Partial<Record<string, FilterOperator>> = { equals: 'notSet', in: 'notSet', notEquals: 'set', notIn: 'set' };

const RANGE_OPERATORS = new Set(['inDateRange', 'notInDateRange', 'onTheDate']);
const START_OPERATORS = new Set(['beforeDate', 'afterOrOnDate']);
const END_OPERATORS = new Set(['beforeOrOnDate', 'afterDate']);

/** Cube's normalizeDateFilterValues: relative dates ("last week") in date filters become absolute ranges. */
function normalizeDateFilterValues(filter: MemberFilter, timezone: string, now: Date): MemberFilter {
  const values = filter.values ?? [];
  const relative = values.filter((v): v is string => typeof v === 'string' && !isAbsoluteDate(v));
  if (RANGE_OPERATORS.has(filter.operator) && values.length > 1 && relative.length > 0) {
    throw new BadRequestError(
      `Relative-date strings are only supported when \`values\` has a single element for operator \`${filter.operator}\`. ` +
        `Pass an absolute two-element [start, end] pair, or a single relative string like ["last 2 weeks"]. Got: ${JSON.stringify(values)}`,
    );
  }
  const [value] = values;
  if (values.length !== 1 || typeof value !== 'string') return filter;
  if (RANGE_OPERATORS.has(filter.operator)) return { ...filter, values: resolveDateRange(value, timezone, now) };
  if (isAbsoluteDate(value)) return filter;
  if (START_OPERATORS.has(filter.operator)) return { ...filter, values: [resolveDateRange(value, timezone, now)[0]] };
  if (END_OPERATORS.has(filter.operator)) return { ...filter, values: [resolveDateRange(value, timezone, now)[1]] };
  return filter;
}

export interface NormalizeOptions {
  /** Time zone for queries that name none (Cube's CUBEJS_DEFAULT_TIMEZONE, UTC by default). */
  defaultTimezone?: string;
  /** "Now" for relative date ranges; tests pin it. */
  now?: Date;
}

/** Validates a parsed query and returns it in Cube's normalised form, or throws a 400. */
export function normalizeQuery(input: unknown, options: NormalizeOptions = {}): NormalizedQuery {
  if (Array.isArray(input)) {
    throw new BadRequestError("'blendingQuery' query type is not supported: send one query object, not an array of queries");
  }
  const parsed = querySchema.safeParse(input);
  if (!parsed.success) throw new BadRequestError(`Invalid query format: ${describeIssues(parsed.error)}`);
  const query = parsed.data;
  checkMemberCount({
    measures: query.measures,
    dimensions: query.dimensions,
    segments: query.segments,
    timeDimensions: query.timeDimensions,
    order: query.order,
  });

  if (query.timeDimensions?.some((td) => td.compareDateRange !== undefined)) {
    throw new BadRequestError("'compareDateRangeQuery' query type: expand the query with normalizeLoadRequest() first");
  }
  if (query.responseFormat && query.responseFormat !== 'default') {
    throw new BadRequestError(`responseFormat "${query.responseFormat}" is not supported: only "default" is`);
  }
  if (!query.measures?.length && !query.dimensions?.length && !query.timeDimensions?.some((td) => td.granularity)) {
    throw new BadRequestError('Query should contain either measures, dimensions or timeDimensions with granularities in order to be valid');
  }
  if (query.limit !== undefined && query.limit > MAX_QUERY_LIMIT) {
    throw new BadRequestError(`The query limit has been exceeded: limit ${query.limit} is above the maximum of ${MAX_QUERY_LIMIT}`);
  }

  const timezone = canonicalTimezone(query.timezone ?? options.defaultTimezone ?? 'UTC');
  const now = options.now ?? new Date();
  const dimensions = query.dimensions ?? [];
  // "orders.ordered_at.month" in dimensions is shorthand for a time dimension with that granularity.
  const shorthandTimeDimensions: QueryTimeDimension[] = dimensions
    .filter((d) => d.split('.').length === 3)
    .map((d) => {
      const [cube, name, granularity] = d.split('.');
      return { dimension: `${cube}.${name}`, granularity: granularity! };
    });
  const timeDimensions: QueryTimeDimension[] = (query.timeDimensions ?? [])
    .map((td) => ({
      dimension: td.dimension,
      ...(td.granularity !== undefined ? { granularity: td.granularity } : {}),
      ...(td.dateRange !== undefined ? { dateRange: resolveDateRange(td.dateRange, timezone, now) } : {}),
    }))
    .concat(shorthandTimeDimensions);
  const budget = new FilterBudget();
  const filters = (query.filters ?? []).map((filter, i) => normalizeFilter(filter, `filters.${i}`, timezone, now, budget));
  const order: QueryOrderItem[] | undefined = query.order
    ? (Array.isArray(query.order) ? query.order : Object.entries(query.order)).map(([id, dir]) => ({ id, desc: dir === 'desc' }))
    : undefined;
  const limit = query.limit ?? DEFAULT_QUERY_LIMIT;

  return {
    measures: query.measures ?? [],
    dimensions: dimensions.filter((d) => d.split('.').length !== 3),
    segments: query.segments ?? [],
    timeDimensions,
    filters,
    ...(order ? { order } : {}),
    limit,
    rowLimit: limit,
    ...(query.offset !== undefined ? { offset: query.offset } : {}),
    timezone,
    ...(query.total !== undefined ? { total: query.total } : {}),
    ...(query.ungrouped !== undefined ? { ungrouped: query.ungrouped } : {}),
    ...(query.joinHints !== undefined ? { joinHints: query.joinHints } : {}),
    queryType: 'regularQuery',
  };
}

export type LoadQueryType = 'regularQuery' | 'compareDateRangeQuery';

/** A /load request after normalisation: one query, or one per date range of a compareDateRange. */
export interface NormalizedLoadRequest {
  queryType: LoadQueryType;
  queries: NormalizedQuery[];
}

/**
 * Cube's getNormalizedQueries for what this API serves: a query whose time dimension has a
 * compareDateRange becomes one query per range (that time dimension gets the range as its
 * dateRange), each normalised like any query; anything else is one regular query.
 */
export function normalizeLoadRequest(input: unknown, options: NormalizeOptions = {}): NormalizedLoadRequest {
  const timeDimensions =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as { timeDimensions?: unknown }).timeDimensions
      : undefined;
  const comparing = Array.isArray(timeDimensions)
    ? timeDimensions.flatMap((td, index) => (typeof td === 'object' && td !== null && 'compareDateRange' in td ? [index] : []))
    : [];
  if (comparing.length === 0) return { queryType: 'regularQuery', queries: [normalizeQuery(input, options)] };
  if (comparing.length > 1) throw new BadRequestError('Invalid query format: compareDateRange can only exist for one timeDimension');
  const index = comparing[0]!;
  const tds = timeDimensions as Record<string, unknown>[];
  const { compareDateRange, ...timeDimension } = tds[index]!;
  if (timeDimension.dateRange !== undefined) {
    throw new BadRequestError(`Invalid query format: timeDimensions.${index}: give either dateRange or compareDateRange, not both`);
  }
  if (!Array.isArray(compareDateRange) || compareDateRange.length === 0) {
    throw new BadRequestError(`Invalid query format: timeDimensions.${index}.compareDateRange must be a non-empty array of date ranges`);
  }
  if (compareDateRange.length > QUERY_LIMITS.compareDateRanges) {
    throw new BadRequestError(
      `Invalid query format: timeDimensions.${index}.compareDateRange has ${compareDateRange.length} ranges, more than ${QUERY_LIMITS.compareDateRanges}`,
    );
  }
  const queries = compareDateRange.map((dateRange, i) => {
    const valid =
      typeof dateRange === 'string' ||
      (Array.isArray(dateRange) && dateRange.length >= 1 && dateRange.length <= 2 && dateRange.every((d) => typeof d === 'string'));
    if (!valid) {
      throw new BadRequestError(
        `Invalid query format: timeDimensions.${index}.compareDateRange.${i} must be a relative date range string or [start, end]`,
      );
    }
    const expanded = tds.map((td, j) => (j === index ? { ...timeDimension, dateRange } : td));
    return normalizeQuery({ ...(input as Record<string, unknown>), timeDimensions: expanded }, options);
  });
  return { queryType: 'compareDateRangeQuery', queries };
}
