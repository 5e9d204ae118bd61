/**
 * The shapes of a Cube REST query after normalisation (what Cube's API gateway hands to the query
 * builder and echoes back as `query` in a /load response).
 */

/**
 * The filter operators of Cube's REST API. Cube's internal `measureFilter` (the query builder's own
 * filter on a measure's filters) is not one: a client sending it gets a 400.
 */
export const FILTER_OPERATORS = [
  'equals',
  'notEquals',
  'contains',
  'notContains',
  'startsWith',
  'notStartsWith',
  'endsWith',
  'notEndsWith',
  'in',
  'notIn',
  'gt',
  'gte',
  'lt',
  'lte',
  'set',
  'notSet',
  'inDateRange',
  'notInDateRange',
  'onTheDate',
  'beforeDate',
  'beforeOrOnDate',
  'afterDate',
  'afterOrOnDate',
] as const;

export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface MemberFilter {
  member: string;
  operator: FilterOperator;
  values?: (string | null)[];
}

export type QueryFilter = MemberFilter | { or: QueryFilter[] } | { and: QueryFilter[] };

export interface QueryTimeDimension {
  dimension: string;
  granularity?: string;
  /** Local times in the query's time zone, 'YYYY-MM-DDTHH:mm:ss.SSS'. */
  dateRange?: [string, string];
}

export interface QueryOrderItem {
  id: string;
  desc: boolean;
}

export interface NormalizedQuery {
  measures: string[];
  dimensions: string[];
  segments: string[];
  timeDimensions: QueryTimeDimension[];
  filters: QueryFilter[];
  /** Present only when the client asked for an order; otherwise Cube applies its default order. */
  order?: QueryOrderItem[];
  limit: number;
  /** What Cube's query builder reads as LIMIT (the gateway copies `limit` into it). */
  rowLimit: number;
  offset?: number;
  timezone: string;
  total?: boolean;
  ungrouped?: boolean;
  joinHints?: string[][];
  queryType: 'regularQuery';
}

export function isMemberFilter(filter: QueryFilter): filter is MemberFilter {
  return 'member' in filter;
}
