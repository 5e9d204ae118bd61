import { sql, type RawBuilder } from 'kysely';
import { ApiError } from '../../shared/errors.ts';
import type { AccessContext } from '../../semantic/access-control.ts';
import { tableScope, type RowPredicate, type TableScope } from '../../semantic/row-scope.ts';
import type { SemanticModel } from '../../semantic/semantic-model.ts';

/**
 * What one caller may read of each warehouse table, from the Cube model's access policies
 * (semantic/row-scope.ts): every decision endpoint reads through this, so no table is read
 * without its scope. A table the caller's claims cannot be applied to is a 403 naming the claim.
 */
export interface ReadScope {
  /** The scope of a table, or the 403 that refuses it. */
  of(table: string): TableScope;
  /** The scope, or the refusal as a value (for parts of an answer that can be withheld). */
  tryOf(table: string): TableScope | ApiError;
}

export function readScope(model: SemanticModel, context: AccessContext): ReadScope {
  const scopes = new Map<string, TableScope | ApiError>();
  const tryOf = (table: string) => {
    let scope = scopes.get(table);
    if (!scope) {
      try {
        scope = tableScope(model, table, context);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        scope = error;
      }
      scopes.set(table, scope);
    }
    return scope;
  };
  return {
    tryOf,
    of(table) {
      const scope = tryOf(table);
      if (scope instanceof ApiError) throw scope;
      return scope;
    },
  };
}

/** Read scopes kept per model and access context: a scope depends on nothing else. */
const scopesByModel = new WeakMap<SemanticModel, Map<string, ReadScope>>();
const SCOPES_PER_MODEL = 1_000;

/**
 * readScope(), kept for the next request of the same claims: working out a scope walks the model's
 * cubes, policies and member access, about half a millisecond for the five tables of a lookup,
 * which was most of an uncached lookup's CPU once its rows came from the customer store. A model
 * is immutable once compiled (a changed model is a new object), so a kept scope never goes stale.
 */
export function cachedReadScope(model: SemanticModel, context: AccessContext): ReadScope {
  let scopes = scopesByModel.get(model);
  if (!scopes) scopesByModel.set(model, (scopes = new Map()));
  const key = JSON.stringify(
    Object.keys(context)
      .sort()
      .map((name) => [name, context[name]]),
  );
  let scope = scopes.get(key);
  if (scope) {
    scopes.delete(key); // least recently used first out
  } else {
    scope = readScope(model, context);
    if (scopes.size >= SCOPES_PER_MODEL) scopes.delete(scopes.keys().next().value!);
  }
  scopes.set(key, scope);
  return scope;
}

/** The scope's row predicate as SQL on a table alias (`alias.column`), or undefined for every row. */
export function scopeCondition(scope: TableScope, alias?: string): RawBuilder<boolean> | undefined {
  return scope.rows ? predicateSql(scope.rows, alias) : undefined;
}

function predicateSql(predicate: RowPredicate, alias?: string): RawBuilder<boolean> {
  if ('and' in predicate || 'or' in predicate) {
    const parts = ('and' in predicate ? predicate.and : predicate.or).map((p) => predicateSql(p, alias));
    if (parts.length === 0) return sql<boolean>`${sql.lit('and' in predicate)}`;
    return sql<boolean>`(${sql.join(parts, sql` ${sql.raw('and' in predicate ? 'AND' : 'OR')} `)})`;
  }
  const column = sql.ref(alias ? `${alias}.${predicate.column}` : predicate.column);
  switch (predicate.operator) {
    case 'set':
      return sql<boolean>`(${column} IS NOT NULL)`;
    case 'notSet':
      return sql<boolean>`(${column} IS NULL)`;
    case 'in': {
      // Cube's equals: IN over the non-null values, IS NULL for a null value.
      const values = predicate.values.filter((v): v is string => v !== null);
      const parts = [
        ...(values.length ? [sql<boolean>`CAST(${column} AS VARCHAR) IN (${sql.join(values)})`] : []),
        ...(predicate.values.includes(null) ? [sql<boolean>`${column} IS NULL`] : []),
      ];
      return parts.length ? sql<boolean>`(${sql.join(parts, sql` OR `)})` : sql<boolean>`FALSE`;
    }
    case 'notIn': {
      const values = predicate.values.filter((v): v is string => v !== null);
      const notNull = predicate.values.includes(null);
      if (!values.length) return notNull ? sql<boolean>`(${column} IS NOT NULL)` : sql<boolean>`TRUE`;
      return notNull
        ? sql<boolean>`(CAST(${column} AS VARCHAR) NOT IN (${sql.join(values)}))`
        : sql<boolean>`(${column} IS NULL OR CAST(${column} AS VARCHAR) NOT IN (${sql.join(values)}))`;
    }
  }
}
