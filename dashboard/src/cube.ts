import cube, { type CubeApi, type Query } from '@cubejs-client/core';
import { hasMembers, membersOfMeta, type ModelMembers } from './queries.ts';

/**
 * The page's only data path: Cube's own client against this server's Cube REST API
 * (/cubejs-api/v1, same origin). Queries name members of the semantic model; no figure is computed
 * from rows here beyond what a chart needs to draw (bucketing a distribution, pivoting a grid).
 * The queries themselves are built in queries.ts.
 */
let api: CubeApi | null = null;
let modelMembers: ModelMembers = { names: new Set(), measures: new Set() };

export function connect(token: string): CubeApi {
  api = cube(token, { apiUrl: new URL('../cubejs-api/v1', window.location.href).toString() });
  return api;
}

export function client(): CubeApi {
  if (!api) throw new Error('not connected');
  return api;
}

/** Reads /meta once: which cubes and members the model offers (panels pick what exists). */
export async function loadMeta(): Promise<ModelMembers> {
  modelMembers = membersOfMeta(await client().meta());
  return modelMembers;
}

/** The members /meta offered, for the query builders of queries.ts. */
export function members(): ModelMembers {
  return modelMembers;
}

export function has(...names: (string | null | undefined)[]): boolean {
  return hasMembers(modelMembers, ...names);
}

export async function load(query: Query) {
  // No zone added: the API reads a query that names none in the shop's zone (config shop.timezone).
  return client().load(query);
}

export const num = (value: unknown): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};
