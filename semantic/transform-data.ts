import type { Annotation, AnnotationItem } from './annotation.ts';
import type { NormalizedQuery } from './query-types.ts';

/**
 * Rows from the warehouse (keyed by SQL alias) turned into Cube's /load `data` (keyed by member),
 * following Cube's API gateway (transformData.ts, transformValue.ts): values of time members are
 * formatted 'YYYY-MM-DDTHH:mm:ss.SSS' (no zone: they are local to the query's time zone), other values
 * pass through as the driver produced them (numbers as strings, which is what @cubejs-client/core
 * expects), and a time dimension with a granularity is repeated under its bare name, as Cube does
 * for older clients.
 */

const ZONE_SUFFIX = /(Z|[+-]\d{2}:?\d{2})$/;

/** Cube's transformValue for time members: moment.utc(value).format('YYYY-MM-DDTHH:mm:ss.SSS'). */
export function formatCubeTime(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? value : value.toISOString().slice(0, 23);
  if (typeof value !== 'string' || value === '') return value;
  const text = value.includes('T') ? value : value.replace(' ', 'T');
  // A value without a zone is already UTC-naive wall-clock time: read it as UTC, never as local time.
  const millis = Date.parse(ZONE_SUFFIX.test(text) ? text : `${text}Z`);
  return Number.isNaN(millis) ? value : new Date(millis).toISOString().slice(0, 23);
}

export function transformData(
  rows: Record<string, unknown>[],
  aliasNameToMember: Record<string, string>,
  annotation: Annotation,
  query: NormalizedQuery,
  queryType: 'regularQuery' | 'compareDateRangeQuery' = 'regularQuery',
): Record<string, unknown>[] {
  // Cube marks each row of a compared period with that period (its first time dimension's range).
  const compareDateRange = queryType === 'compareDateRangeQuery' ? query.timeDimensions[0]?.dateRange?.join(' - ') : undefined;
  const byMember: Record<string, AnnotationItem> = { ...annotation.measures, ...annotation.dimensions, ...annotation.timeDimensions };
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [alias, raw] of Object.entries(row)) {
      const member = aliasNameToMember[alias];
      // Columns Cube did not alias to a member (none today) are not part of the contract.
      if (!member) continue;
      const value = byMember[member]?.type === 'time' || raw instanceof Date ? formatCubeTime(raw) : raw;
      out[member] = value;
      const parts = member.split('.');
      if (parts.length === 3) {
        const bare = `${parts[0]}.${parts[1]}`;
        if (!query.dimensions.includes(bare)) out[bare] = value;
      }
    }
    if (compareDateRange !== undefined) out.compareDateRange = compareDateRange;
    return out;
  });
}
