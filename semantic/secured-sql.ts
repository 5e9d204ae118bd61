import { LRUCache } from 'lru-cache';
import { accessContextFromClaims, accessControlFor } from './access-control.ts';
import { claimsKey } from './claims-key.ts';
import type { NormalizedQuery } from './query-types.ts';
import type { BuildSqlOptions, SemanticModel, SemanticSql } from './semantic-model.ts';

/**
 * Cube's SQL for a caller's query with the model's access policies applied first
 * (access-control.ts: a 403 for what the caller may not query, the caller's row-level filter
 * appended, masked members swapped for their masks), then planned by the model's compiler over the
 * secured query. Every path that turns a semantic query into SQL goes through here.
 *
 * Results are kept per model: Cube's SQL for a normalised query depends only on the model, the
 * query (relative dates are already absolute), the caller's deciding claims and the options, so
 * like Cube's own compiler cache the answer is reused and a repeated dashboard query skips access
 * evaluation and Cube's planner (1.5-12 ms a query on 2 busy cores). Least recently used go first (lru-cache).
 */
const MAX_COMPILED_QUERIES = 2_000;
const compiledByModel = new WeakMap<SemanticModel, LRUCache<string, SemanticSql>>();

export function buildSecuredSql(model: SemanticModel, unsecuredQuery: NormalizedQuery, options: BuildSqlOptions = {}): SemanticSql {
  let compiled = compiledByModel.get(model);
  if (!compiled) compiledByModel.set(model, (compiled = new LRUCache({ max: MAX_COMPILED_QUERIES })));
  const key = JSON.stringify([
    unsecuredQuery,
    claimsKey(options.securityContext ?? {}),
    options.totalQuery === true,
    options.disablePreAggregations === true,
  ]);
  const found = compiled.get(key);
  if (found) return found;
  const securityContext = accessContextFromClaims(options.securityContext ?? {});
  const { query, maskedMembers } = accessControlFor(model).rewriteQuery(unsecuredQuery, securityContext);
  const built = Object.freeze(model.buildSql(query, { ...options, securityContext, maskedMembers }));
  compiled.set(key, built);
  return built;
}
