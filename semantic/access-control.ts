import { DuckDBDialectQuery } from './duckdb-dialect.ts';
import { BadRequestError, ForbiddenError, isCubeUserError } from '../shared/errors.ts';
import { cubeConfig } from './cube-config.ts';
import type { MetaCube, MetaResponse } from './meta.ts';
import type { MemberFilter, NormalizedQuery, QueryFilter } from './query-types.ts';
import type { SemanticModel } from './semantic-model.ts';

/**
 * Data access policies, enforced the way Cube's server does (server-core CompilerApi:
 * getApplicablePolicies, applyRowLevelSecurity, patchVisibilityByAccessPolicy), over the policies
 * Cube's own compiler read from the `access_policy` blocks in cube/model and prepared
 * (CubeEvaluator.prepareAccessPolicy: member lists resolved, filter members referenced).
 * The rules live in the model; this module only evaluates them for a caller:
 *
 * - groups: cube/cube.js's contextToGroups (the JWT's `roles` claim, or `role`);
 * - a policy applies when its group matches (or is "*") and all its `conditions` are true;
 * - member level: a member is visible when an applicable policy has no member_level, or includes it
 *   without excluding it; masked when only a member_masking list grants it (Cube's masking);
 * - row level: filters of one policy are ANDed, different policies ORed, a policy without
 *   row_level (or with allow_all) lifts the filters of its cube; cube and view filters are ANDed.
 *
 * Where the embedded API is stricter than Cube, it says so with a 403 instead of answering with
 * nothing: a query that names a member the caller may not see, or a cube no policy lets the caller
 * query (Cube's server answers the latter with an empty result).
 */

export const KNOWN_ROLES = ['executive', 'analyst', 'service_agent', 'engineer', 'marketing'] as const;
export type Role = (typeof KNOWN_ROLES)[number];

/** The security context after the claims were checked: what the model's policies read. */
export interface AccessContext extends Record<string, unknown> {
  roles: Role[];
  /** Brands the caller is scoped to; absent = every brand. */
  brands?: string[];
  /** Cities (regions) the caller is scoped to; absent = every city. */
  regions?: string[];
}

function stringList(claims: Record<string, unknown>, name: string): string[] | undefined {
  const value = claims[name];
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.trim() === '')) {
    throw new ForbiddenError(`Invalid token claims: "${name}" must be a non-empty string or an array of non-empty strings`);
  }
  if (list.length === 0)
    throw new ForbiddenError(`Invalid token claims: "${name}" is an empty list (omit the claim for no ${name} scoping)`);
  return [...new Set(list as string[])];
}

/**
 * Checks the access claims of a verified JWT and returns the security context the policies are
 * evaluated with (the other claims are kept). Throws a 403 naming the bad claim.
 */
export function accessContextFromClaims(claims: Record<string, unknown>): AccessContext {
  const roles = [...(stringList(claims, 'roles') ?? []), ...(stringList(claims, 'role') ?? [])];
  const unknown = roles.filter((role) => !(KNOWN_ROLES as readonly string[]).includes(role));
  if (unknown.length) {
    throw new ForbiddenError(
      `Invalid token claims: unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `"${r}"`).join(', ')} (known roles: ${KNOWN_ROLES.join(', ')})`,
    );
  }
  const brands = stringList(claims, 'brands');
  const regions = stringList(claims, 'regions');
  const context: AccessContext = { ...claims, roles: [...new Set(roles)] as Role[] };
  delete context.role;
  if (brands) context.brands = brands;
  else delete context.brands;
  if (regions) context.regions = regions;
  else delete context.regions;
  return context;
}

/**
 * accessContextFromClaims for a caller's token, on every HTTP door: a token must carry at least one
 * role (a 403 naming the claim otherwise). Internal callers (rollup builds) use accessContextFromClaims.
 */
export function accessContextFromToken(claims: Record<string, unknown>): AccessContext {
  const context = accessContextFromClaims(claims);
  if (context.roles.length === 0) {
    throw new ForbiddenError(
      `Invalid token claims: the token carries no roles; give "roles" (an array, or one string) or "role" (known roles: ${KNOWN_ROLES.join(', ')})`,
    );
  }
  return context;
}

/** The caller's groups: cube/cube.js's contextToGroups, as Cube's server would call it. */
export function contextToGroups(context: AccessContext): Set<string> {
  return new Set(cubeConfig.contextToGroups({ securityContext: context }));
}

/** The scope claims a context carries, in the order they are reported. */
export const SCOPE_CLAIMS = ['brands', 'regions'] as const;
export type ScopeClaim = (typeof SCOPE_CLAIMS)[number];

function describeCaller(context: AccessContext): string {
  const parts = [context.roles.length ? `roles [${context.roles.join(', ')}]` : 'no roles'];
  if (context.brands) parts.push(`brands [${context.brands.join(', ')}]`);
  if (context.regions) parts.push(`regions [${context.regions.join(', ')}]`);
  return parts.join(', ');
}

/** An access policy as Cube's CubeEvaluator prepared it (camelCased, member lists resolved). */
interface PreparedPolicy {
  group?: string;
  groups?: string[];
  conditions?: { if: unknown }[];
  memberLevel?: { includesMembers: string[]; excludesMembers: string[] };
  memberMasking?: { includesMembers: string[]; excludesMembers: string[] };
  rowLevel?: { filters?: PreparedFilter[]; allowAll?: boolean };
}

interface PreparedFilter {
  memberReference?: string;
  operator?: string;
  values?: unknown;
  and?: PreparedFilter[];
  or?: PreparedFilter[];
}

interface EvaluatedCube {
  name: string;
  isView?: boolean;
  accessPolicy?: PreparedPolicy[];
  includedMembers?: { memberPath: string; name: string }[];
}

interface CubeEvaluatorLike {
  cubeFromPath(path: string): EvaluatedCube;
  isRbacEnabledForCube(cube: EvaluatedCube): unknown;
  isRbacEnabled(): unknown;
  evaluateContextFunction(cube: EvaluatedCube, fn: unknown, context: { securityContext: unknown }): unknown;
}

export type MemberAccess = 'visible' | 'masked' | 'hidden';

export interface RewrittenQuery {
  /** The query with the row-level filter of the caller's policies appended. */
  query: NormalizedQuery;
  /** Members shown to the caller as their mask (Cube's maskedMembers option). */
  maskedMembers: { member: string }[];
  /** The row-level filter that was added, if any (for logs and /sql). */
  rowLevelFilter?: QueryFilter;
}

/** Evaluates the model's access policies for callers. One per compiled model; cheap to create. */
export class AccessControl {
  private readonly evaluator: CubeEvaluatorLike;

  constructor(private readonly model: SemanticModel) {
    this.evaluator = model.compilers.cubeEvaluator as unknown as CubeEvaluatorLike;
  }

  get enabled(): boolean {
    return Boolean(this.evaluator.isRbacEnabled());
  }

  private cube(name: string): EvaluatedCube | undefined {
    try {
      return this.evaluator.cubeFromPath(name);
    } catch {
      return undefined;
    }
  }

  private hasPolicies(cube: EvaluatedCube): boolean {
    return Boolean(this.evaluator.isRbacEnabledForCube(cube));
  }

  /** Cube's getApplicablePolicies: group match ("*" matches everyone) and every condition true. */
  applicablePolicies(cubeName: string, context: AccessContext): PreparedPolicy[] {
    const cube = this.cube(cubeName);
    if (!cube || !this.hasPolicies(cube)) return [];
    const groups = contextToGroups(context);
    return (cube.accessPolicy ?? []).filter((policy) => {
      const wanted = policy.groups ?? (policy.group !== undefined ? [policy.group] : ['*']);
      if (!wanted.some((group) => group === '*' || groups.has(group))) return false;
      return (policy.conditions ?? []).every((condition) => {
        const value = this.evaluator.evaluateContextFunction(cube, condition.if, { securityContext: context });
        if (typeof value !== 'boolean') {
          throw new Error(`Access policy condition of cube ${cube.name} must return a boolean, got ${JSON.stringify(value)}`);
        }
        return value;
      });
    });
  }

  /** Whether the caller sees a cube member (cube.member) as is, masked, or not at all. */
  memberAccess(member: string, context: AccessContext): MemberAccess {
    const cubeName = member.split('.')[0]!;
    const cube = this.cube(cubeName);
    if (!cube) return 'hidden';
    if (cube.isView && cube.includedMembers) {
      // A view member is as visible as the cube member it exposes (and the view's own policies).
      const included = cube.includedMembers.find((m) => `${cube.name}.${m.name}` === member);
      if (included) {
        const underlying = this.memberAccess(included.memberPath, context);
        if (underlying === 'hidden') return 'hidden';
        const own = this.hasPolicies(cube) ? this.ownMemberAccess(cube, member, context) : 'visible';
        return own === 'hidden' ? 'hidden' : own === 'masked' || underlying === 'masked' ? 'masked' : 'visible';
      }
    }
    return this.hasPolicies(cube) ? this.ownMemberAccess(cube, member, context) : 'visible';
  }

  private ownMemberAccess(cube: EvaluatedCube, member: string, context: AccessContext): MemberAccess {
    let masked = false;
    for (const policy of this.applicablePolicies(cube.name, context)) {
      if (!policy.memberLevel) return 'visible';
      if (policy.memberLevel.includesMembers.includes(member) && !policy.memberLevel.excludesMembers.includes(member)) return 'visible';
      if (policy.memberMasking?.includesMembers.includes(member) && !policy.memberMasking.excludesMembers.includes(member)) masked = true;
    }
    return masked ? 'masked' : 'hidden';
  }

  /** /meta per security context (Cube keys its visibility patch by a hash of the context too). */
  private readonly metaCache = new Map<string, MetaResponse>();

  /** /meta for a caller: Cube's patchVisibilityByAccessPolicy, then its filterVisibleItemsInMeta. */
  metaFor(meta: MetaResponse, context: AccessContext): MetaResponse {
    if (!this.enabled) return meta;
    // Conditions may read any claim, so the whole context is the key (minus per-token noise).
    const { iat: _iat, exp: _exp, nbf: _nbf, jti: _jti, ...claims } = context;
    const key = JSON.stringify(Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const cached = this.metaCache.get(key);
    if (cached && meta === this.model.meta) return cached;
    const cubes = meta.cubes
      .map((cube): MetaCube => {
        const visible = <T extends { name: string }>(members: T[]) =>
          members.filter((m) => this.memberAccess(m.name, context) !== 'hidden');
        return { ...cube, measures: visible(cube.measures), dimensions: visible(cube.dimensions), segments: visible(cube.segments) };
      })
      .filter((cube) => cube.measures.length || cube.dimensions.length || cube.segments.length);
    if (meta === this.model.meta) {
      if (this.metaCache.size >= 256) this.metaCache.delete(this.metaCache.keys().next().value!);
      this.metaCache.set(key, { cubes });
    }
    return { cubes };
  }

  /** Every member the query touches, including the cube members behind view members and calculated measures. */
  queryMemberNames(query: NormalizedQuery): string[] {
    try {
      const sqlQuery = new DuckDBDialectQuery(this.model.compilers, {
        measures: query.measures,
        dimensions: query.dimensions,
        segments: query.segments,
        timeDimensions: query.timeDimensions,
        filters: query.filters,
        timezone: query.timezone,
        ungrouped: query.ungrouped,
        joinHints: query.joinHints,
        useNativeSqlPlanner: false,
      });
      const names = this.model.compilers.compiler.withQuery(sqlQuery, () => sqlQuery.collectAllMemberNames()) as string[];
      const named = [
        ...query.measures,
        ...query.dimensions,
        ...query.segments,
        ...query.timeDimensions.map((td) => td.dimension),
        ...(query.order ?? []).map((o) => o.id.split('.').slice(0, 2).join('.')),
      ];
      return [...new Set([...named, ...names])];
    } catch (error) {
      if (isCubeUserError(error)) throw new BadRequestError(error.message, { cause: error });
      throw error;
    }
  }

  /**
   * Cube's applyRowLevelSecurity plus the member-level check: throws a 403 naming the first
   * member or cube the caller may not query; otherwise returns the query with the caller's
   * row-level filter and the members to mask.
   */
  rewriteQuery(query: NormalizedQuery, context: AccessContext): RewrittenQuery {
    if (!this.enabled) return { query, maskedMembers: [] };
    const members = this.queryMemberNames(query);
    const cubeNames = [...new Set(members.map((m) => m.split('.')[0]!))];
    const masked = new Set<string>();
    const cubeFilters: Record<string, Record<string, QueryFilter[]>> = {};
    const viewFilters: Record<string, Record<string, QueryFilter[]>> = {};
    const allowAll = new Set<string>();

    for (const cubeName of cubeNames) {
      const cube = this.cube(cubeName);
      if (!cube || !this.hasPolicies(cube)) continue;
      const policies = this.applicablePolicies(cubeName, context);
      if (policies.length === 0) throw this.refusal(cube, context);
      for (const member of members.filter((m) => m.startsWith(`${cubeName}.`))) {
        const access = this.ownMemberAccess(cube, member, context);
        if (access === 'hidden') {
          throw new ForbiddenError(
            `Access denied to member '${member}': the access policy of '${cubeName}' does not let this token (${describeCaller(context)}) query it`,
          );
        }
        if (access === 'masked') masked.add(member);
      }
      const target = cube.isView ? viewFilters : cubeFilters;
      for (const policy of policies) {
        if (!policy.rowLevel || policy.rowLevel.allowAll) {
          allowAll.add(cubeName);
          break;
        }
        const key = policy.groups?.join(',') ?? policy.group ?? 'default';
        for (const filter of policy.rowLevel.filters ?? []) {
          ((target[cubeName] ??= {})[key] ??= []).push(this.evaluateFilter(cube, filter, context));
        }
      }
    }
    // View members that expose masked cube members are masked too.
    for (const member of members) {
      if (!masked.has(member) && this.memberAccess(member, context) === 'masked') masked.add(member);
    }

    const perPolicy = (map: Record<string, Record<string, QueryFilter[]>>) => {
      const result: Record<string, QueryFilter[]> = {};
      for (const [cubeName, byPolicy] of Object.entries(map)) {
        if (allowAll.has(cubeName)) continue;
        for (const [key, filters] of Object.entries(byPolicy)) result[key] = [...(result[key] ?? []), ...filters];
      }
      return Object.values(result).map((filters) => ({ and: filters }));
    };
    const rowLevelFilter = removeEmptyFilters({ and: [{ or: perPolicy(cubeFilters) }, { or: perPolicy(viewFilters) }] });
    return {
      query: rowLevelFilter ? { ...query, filters: [...query.filters, rowLevelFilter] } : query,
      maskedMembers: [...masked].map((member) => ({ member })),
      ...(rowLevelFilter ? { rowLevelFilter } : {}),
    };
  }

  /**
   * The 403 for a cube no policy lets the caller query, naming the claim that shuts it: the scope
   * claim without which some policy would apply, else the roles.
   */
  private refusal(cube: EvaluatedCube, context: AccessContext): ForbiddenError {
    const kind = cube.isView ? 'view' : 'cube';
    const blocking = SCOPE_CLAIMS.filter((claim) => {
      if (!context[claim]) return false;
      const without: AccessContext = { ...context };
      delete without[claim];
      return this.applicablePolicies(cube.name, without).length > 0;
    });
    const claims = blocking.length ? blocking : SCOPE_CLAIMS.filter((claim) => context[claim]);
    if (claims.length) {
      return new ForbiddenError(
        `Access denied: the ${kind} '${cube.name}' cannot be scoped by the token's ${claims.map((c) => `"${c}"`).join(' and ')} claim${claims.length > 1 ? 's' : ''} (no access policy of it applies to ${describeCaller(context)}); ask for a token without ${claims.join(' or ')} scoping to read it`,
      );
    }
    return new ForbiddenError(
      `Access denied: no access policy of ${kind} '${cube.name}' applies to this token's "roles" claim (${describeCaller(context)})`,
    );
  }

  /**
   * The row-level filter of one cube for a caller (its applicable policies ORed, each policy's
   * filters ANDed), null when a policy lifts it; a 403 naming the claim when no policy applies.
   * Cubes without policies are open to every caller (rbac is off for them, as in Cube).
   */
  rowFilterOf(cubeName: string, context: AccessContext): QueryFilter | null {
    const cube = this.cube(cubeName);
    if (!cube) throw new Error(`No cube '${cubeName}' in the model`);
    if (!this.enabled || !this.hasPolicies(cube)) return null;
    const policies = this.applicablePolicies(cubeName, context);
    if (policies.length === 0) throw this.refusal(cube, context);
    const perPolicy: QueryFilter[] = [];
    for (const policy of policies) {
      if (!policy.rowLevel || policy.rowLevel.allowAll) return null;
      perPolicy.push({ and: (policy.rowLevel.filters ?? []).map((filter) => this.evaluateFilter(cube, filter, context)) });
    }
    return removeEmptyFilters({ or: perPolicy });
  }

  /** Every cube (not view) built on a table, by its sql_table. */
  cubesOnTable(table: string): string[] {
    const evaluator = this.evaluator as unknown as { cubeNames(): string[] };
    return evaluator.cubeNames().filter((name) => {
      const cube = this.cube(name) as (EvaluatedCube & { sqlTable?: () => string }) | undefined;
      return Boolean(cube && !cube.isView && typeof cube.sqlTable === 'function' && cube.sqlTable().trim() === table);
    });
  }

  /** The table column behind a cube dimension, when its sql is a bare column name (else undefined). */
  dimensionColumn(member: string): string | undefined {
    const evaluator = this.evaluator as unknown as { dimensionByPath(path: string): { sql?: () => unknown } };
    let sqlText: unknown;
    try {
      sqlText = evaluator.dimensionByPath(member).sql?.();
    } catch {
      return undefined;
    }
    return typeof sqlText === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(sqlText.trim()) ? sqlText.trim() : undefined;
  }

  /** The dimensions of a cube (names as cube.member). */
  dimensionsOf(cubeName: string): string[] {
    const cube = this.cube(cubeName) as (EvaluatedCube & { dimensions?: Record<string, unknown> }) | undefined;
    return Object.keys(cube?.dimensions ?? {}).map((name) => `${cubeName}.${name}`);
  }

  private evaluateFilter(cube: EvaluatedCube, filter: PreparedFilter, context: AccessContext): QueryFilter {
    if (filter.memberReference) {
      const values =
        filter.values === undefined ? undefined : this.evaluator.evaluateContextFunction(cube, filter.values, { securityContext: context });
      const list =
        values === undefined || values === null
          ? undefined
          : (Array.isArray(values) ? values : [values]).map((v) => (v === null ? null : String(v)));
      if (list && list.length === 0 && !['set', 'notSet'].includes(String(filter.operator))) {
        throw new ForbiddenError(
          `Access denied: the row-level filter on '${filter.memberReference}' of '${cube.name}' has no values for this token (${describeCaller(context)})`,
        );
      }
      return { member: filter.memberReference, operator: filter.operator as MemberFilter['operator'], ...(list ? { values: list } : {}) };
    }
    if (filter.or) return { or: filter.or.map((f) => this.evaluateFilter(cube, f, context)) };
    return { and: (filter.and ?? []).map((f) => this.evaluateFilter(cube, f, context)) };
  }
}

/** Cube's removeEmptyFilters: drops empty groups and unwraps groups of one. */
function removeEmptyFilters(filter: QueryFilter): QueryFilter | null {
  if ('and' in filter || 'or' in filter) {
    const kind = 'and' in filter ? 'and' : 'or';
    const items = ('and' in filter ? filter.and : filter.or).map(removeEmptyFilters).filter((f): f is QueryFilter => f !== null);
    if (items.length === 0) return null;
    if (items.length === 1) return items[0]!;
    return kind === 'and' ? { and: items } : { or: items };
  }
  return filter;
}

const controls = new WeakMap<SemanticModel, AccessControl>();

/** The access control of a compiled model (made once per model). */
export function accessControlFor(model: SemanticModel): AccessControl {
  let control = controls.get(model);
  if (!control) {
    control = new AccessControl(model);
    controls.set(model, control);
  }
  return control;
}
