import { BadRequestError } from '../errors.ts';
import type { MemberIndex, MemberKind } from './meta.ts';
import { isMemberFilter, type NormalizedQuery, type QueryFilter } from './query-types.ts';

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
    if (!found.config.isVisible) {
      // Cube's wording (transformData), so clients that match on it keep working.
      throw new BadRequestError(`You requested hidden member: '${name}'. Please make it visible using \`shown: true\`.`);
    }
    return found;
  };

  for (const name of query.measures) expect(name, 'measure', 'measures');
  for (const name of query.dimensions) expect(name, 'dimension', 'dimensions');
  for (const name of query.segments) expect(name, 'segment', 'segments');
  for (const td of query.timeDimensions) {
    const found = expect(td.dimension, 'dimension', 'timeDimensions');
    if (found.config.type !== 'time') {
      throw new BadRequestError(`'${td.dimension}' in timeDimensions is a ${found.config.type} dimension: time dimensions need a dimension of type time`);
    }
  }
  checkFilters(query.filters, index);
  for (const { id } of query.order ?? []) {
    const parts = id.split('.');
    const base = parts.slice(0, 2).join('.');
    const found = index.get(base);
    const known = found && found.kind !== 'segment' && (parts.length === 2 || found.config.type === 'time');
    if (!known) throw new BadRequestError(`Unknown member '${id}' in order: order by a measure, a dimension or 'cube.time.granularity'`);
  }
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
  }
}

function unknownMemberMessage(name: string, kind: MemberKind, where: string, index: MemberIndex, wanted: string = kind): string {
  const [cube, member] = name.split('.');
  if (!cube || !index.hasCube(cube)) return `Unknown member '${name}' in ${where}: there is no cube or view named '${cube}'`;
  const candidates = index.namesOf(cube, kind);
  const hint = candidates.length ? ` (${kind}s of ${cube}: ${candidates.join(', ')})` : '';
  return `Unknown member '${name}' in ${where}: ${cube} has no ${wanted} named '${member}'${hint}`;
}
