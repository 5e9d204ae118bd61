import { BadRequestError } from '../shared/errors.ts';
import type { MemberIndex, MemberKind } from './meta.ts';
import { isAbsoluteDate } from './date-range.ts';
import { isMemberFilter, type MemberFilter, type NormalizedQuery, type QueryFilter } from './query-types.ts';

/**
 * Checks every member a query names against the compiled model before any SQL is built, so the
 * client gets a 400 that names the member and says what is wrong with it. Cube's query builder
 * would reject most of these too, but with "'x' not found for path 'cube.x'" even when the member
 * exists as a dimension, and it silently accepts a time dimension that is not of type time and an
 * order on an unknown member.
 */
export function checkQueryMembers(query: NormalizedQuery, index: MemberIndex): void {
  const expect = (name: string, kind: MemberKind, where: string) => {
    const found = index.get(name);
    if (!found) throw new BadRequestError(unknownMemberMessage(name, kind, where, index));
    if (found.kind !== kind) {
      throw new BadRequestError(`'${name}' in ${where} is a ${found.kind}, not a ${kind}`);
    }
    if (!found.config.isVisible) throw hiddenMember(name);
    return found;
  };

  for (const name of query.measures) expect(name, 'measure', 'measures');
  for (const name of query.dimensions) expect(name, 'dimension', 'dimensions');
  for (const name of query.segments) expect(name, 'segment', 'segments');
  for (const td of query.timeDimensions) {
    const found = expect(td.dimension, 'dimension', 'timeDimensions');
    if (found.config.type !== 'time') {
      throw new BadRequestError(
        `'${td.dimension}' in timeDimensions is a ${found.config.type} dimension: time dimensions need a dimension of type time`,
      );
    }
  }
  checkFilters(query.filters, index);
  for (const { id } of query.order ?? []) {
    const parts = id.split('.');
    const base = parts.slice(0, 2).join('.');
    const found = index.get(base);
    const known = found && found.kind !== 'segment' && (parts.length === 2 || found.config.type === 'time');
    if (!known) throw new BadRequestError(`Unknown member '${id}' in order: order by a measure, a dimension or 'cube.time.granularity'`);
    if (found && !found.config.isVisible) throw hiddenMember(base);
  }
}

/**
 * A member that is not public (a private cube's, or one marked `public: false`): in measures,
 * dimensions, segments, time dimensions, filters and order alike, so a private cube cannot be
 * reached over REST by filtering or ordering on it either. Cube's wording (transformData), so
 * clients that match on it keep working. Row-level filters are added after this check.
 */
function hiddenMember(name: string): BadRequestError {
  return new BadRequestError(`You requested hidden member: '${name}'. Please make it visible using \`shown: true\`.`);
}

function checkFilters(filters: QueryFilter[], index: MemberIndex): void {
  for (const filter of filters) {
    if (!isMemberFilter(filter)) {
      checkFilters('or' in filter ? filter.or : filter.and, index);
      continue;
    }
    const found = index.get(filter.member);
    if (!found) throw new BadRequestError(unknownMemberMessage(filter.member, 'dimension', 'filters', index, 'measure or dimension'));
    if (found.kind === 'segment') throw new BadRequestError(`'${filter.member}' in filters is a segment: list it under segments`);
    if (!found.config.isVisible) throw hiddenMember(filter.member);
    checkOperatorAndValues(filter, found.config.type, found.kind);
  }
}

/**
 * Which member types each operator applies to (Cube's filter documentation): text matching on
 * strings, ordering on numbers and times, date operators on times; equality and set on any.
 * Without this the warehouse is asked to ILIKE a timestamp and answers with a Binder error.
 */
const OPERATOR_TYPES: Partial<Record<string, readonly string[]>> = {
  contains: ['string'],
  notContains: ['string'],
  startsWith: ['string'],
  notStartsWith: ['string'],
  endsWith: ['string'],
  notEndsWith: ['string'],
  gt: ['number', 'time'],
  gte: ['number', 'time'],
  lt: ['number', 'time'],
  lte: ['number', 'time'],
  inDateRange: ['time'],
  notInDateRange: ['time'],
  onTheDate: ['time'],
  beforeDate: ['time'],
  beforeOrOnDate: ['time'],
  afterDate: ['time'],
  afterOrOnDate: ['time'],
};

/** A decimal number as SQL reads one: no hex, no Infinity, no empty string. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN = /^(true|false|1|0)$/i;

function checkOperatorAndValues(filter: MemberFilter, type: string, kind: MemberKind): void {
  const where = `filter on '${filter.member}'`;
  const types = OPERATOR_TYPES[filter.operator];
  if (types && !types.includes(type)) {
    throw new BadRequestError(
      `Operator '${filter.operator}' in the ${where} applies to ${types.join(' or ')} members; '${filter.member}' is a ${type} ${kind}`,
    );
  }
  (filter.values ?? []).forEach((value, i) => {
    if (value === null) return;
    const bad = (expected: string) =>
      new BadRequestError(
        `Invalid value ${JSON.stringify(value.slice(0, 100))} at values.${i} of the ${where}: a ${type} ${kind} takes ${expected}`,
      );
    if (type === 'number' && !(DECIMAL.test(value.trim()) && Number.isFinite(Number(value)))) throw bad('a finite decimal number');
    if (type === 'boolean' && !BOOLEAN.test(value.trim())) throw bad('true, false, 1 or 0');
    if (type === 'time' && !isAbsoluteDate(value))
      throw bad('a date YYYY-MM-DD or a timestamp YYYY-MM-DDTHH:mm:ss[.SSS] (years 0001-9999)');
  });
}

function unknownMemberMessage(name: string, kind: MemberKind, where: string, index: MemberIndex, wanted: string = kind): string {
  const [cube, member] = name.split('.');
  if (!cube || !index.hasCube(cube)) return `Unknown member '${name}' in ${where}: there is no cube or view named '${cube}'`;
  const candidates = index.namesOf(cube, kind);
  const hint = candidates.length ? ` (${kind}s of ${cube}: ${candidates.join(', ')})` : '';
  return `Unknown member '${name}' in ${where}: ${cube} has no ${wanted} named '${member}'${hint}`;
}
