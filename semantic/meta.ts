/**
 * The /meta response and member lookups, built from what Cube's CubeToMetaTransformer produced while
 * compiling (compilers.metaTransformer.cubes). Nothing is re-derived: titles, types, formats and
 * visibility are the compiler's; this module only filters and indexes them the way Cube's API
 * gateway does (filterVisibleItemsInMeta: hidden members and member-less cubes are left out).
 */

export interface MetaGranularity {
  name: string;
  title: string;
  interval?: string;
  offset?: string;
  origin?: string;
}

export interface MetaMember {
  name: string;
  title: string;
  shortTitle: string;
  description?: string;
  type: string;
  format?: unknown;
  currency?: string;
  meta?: unknown;
  isVisible: boolean;
  public: boolean;
  aggType?: string;
  drillMembers?: string[];
  drillMembersGrouped?: { measures: string[]; dimensions: string[] };
  primaryKey?: boolean;
  granularities?: MetaGranularity[];
  [key: string]: unknown;
}

export interface MetaCube {
  name: string;
  type: 'cube' | 'view';
  title: string;
  description?: string;
  isVisible: boolean;
  public: boolean;
  measures: MetaMember[];
  dimensions: MetaMember[];
  segments: MetaMember[];
  [key: string]: unknown;
}

export interface MetaResponse {
  cubes: MetaCube[];
}

export type MemberKind = 'measure' | 'dimension' | 'segment';

export interface IndexedMember {
  kind: MemberKind;
  cube: string;
  config: MetaMember;
}

const KIND_LIST = { measure: 'measures', dimension: 'dimensions', segment: 'segments' } as const;

/** Every member of every cube and view, visible or not (filters may use hidden members, as in Cube). */
export class MemberIndex {
  private readonly members = new Map<string, IndexedMember>();
  private readonly cubes = new Set<string>();

  constructor(cubes: MetaCube[]) {
    for (const cube of cubes) {
      this.cubes.add(cube.name);
      for (const kind of ['measure', 'dimension', 'segment'] as const) {
        for (const config of cube[KIND_LIST[kind]] ?? []) this.members.set(config.name, { kind, cube: cube.name, config });
      }
    }
  }

  get(name: string): IndexedMember | undefined {
    return this.members.get(name);
  }

  hasCube(name: string): boolean {
    return this.cubes.has(name);
  }

  /** Names of a cube's members of one kind, for "did you mean" style messages. */
  namesOf(cube: string, kind: MemberKind): string[] {
    return [...this.members.values()].filter((m) => m.cube === cube && m.kind === kind && m.config.isVisible).map((m) => m.config.name);
  }
}

/** Cube's filterVisibleItemsInMeta (outside dev mode): visible members only, cubes with none dropped. */
export function visibleMeta(cubes: MetaCube[]): MetaResponse {
  const visible = cubes
    .map((cube) => ({
      ...cube,
      measures: cube.measures.filter((m) => m.isVisible),
      dimensions: cube.dimensions.filter((m) => m.isVisible),
      segments: cube.segments.filter((m) => m.isVisible),
    }))
    .filter((cube) => cube.measures.length || cube.dimensions.length || cube.segments.length);
  return { cubes: visible };
}
