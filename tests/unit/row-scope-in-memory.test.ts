import { DuckDBInstance } from '@duckdb/node-api';
import { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { scopeCondition } from '../../api/decision/read-scope.ts';
import { WarehouseDialect } from '../../api/decision/kysely-duckdb.ts';
import { rowMatches, predicateColumns, type RowPredicate, type TableScope } from '../../semantic/row-scope.ts';

/**
 * The customer store applies a caller's row scope in memory (rowMatches); the DuckDB path renders
 * the same predicate as SQL (scopeCondition). Every predicate shape, over rows with NULLs, numbers
 * and text, must keep exactly the rows DuckDB keeps.
 */
const ROWS = [
  { id: 1, brand: 'A', city: 'Shanghai', tier: 3 },
  { id: 2, brand: 'B', city: null, tier: 1 },
  { id: 3, brand: null, city: 'Beijing', tier: null },
  { id: 4, brand: 'A', city: 'Beijing', tier: 10 },
  { id: 5, brand: 'C', city: 'Shanghai', tier: 1 },
];

const leaves: RowPredicate[] = [
  { column: 'brand', operator: 'in', values: ['A'] },
  { column: 'brand', operator: 'in', values: ['A', null] },
  { column: 'brand', operator: 'in', values: [null] },
  { column: 'brand', operator: 'in', values: [] },
  { column: 'brand', operator: 'notIn', values: ['A'] },
  { column: 'brand', operator: 'notIn', values: ['A', null] },
  { column: 'brand', operator: 'notIn', values: [null] },
  { column: 'brand', operator: 'notIn', values: [] },
  { column: 'city', operator: 'set' },
  { column: 'city', operator: 'notSet' },
  { column: 'tier', operator: 'in', values: ['1', '10'] },
  { column: 'tier', operator: 'notIn', values: ['1'] },
];
const predicates: RowPredicate[] = [
  ...leaves,
  { and: [] },
  { or: [] },
  ...leaves.flatMap((a, i) => leaves.slice(i + 1).flatMap((b) => [{ and: [a, b] }, { or: [a, b] }])),
  { and: [{ or: [leaves[0]!, leaves[9]!] }, leaves[11]!] },
  { or: [{ and: [leaves[4]!, leaves[8]!] }, leaves[2]!] },
];

async function duckdbKeeps(db: Kysely<any>, predicate: RowPredicate): Promise<number[]> {
  const scope: TableScope = { table: 't', cubes: [], rows: predicate, column: () => 'visible' };
  const rows = await db.selectFrom('t').select('id').where(scopeCondition(scope)!).orderBy('id').execute();
  return rows.map((r) => Number(r.id));
}

describe('row scope in memory', () => {
  it('keeps exactly the rows the SQL predicate keeps in DuckDB, NULLs included', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run('CREATE TABLE t (id INTEGER, brand VARCHAR, city VARCHAR, tier INTEGER)');
    for (const r of ROWS)
      await connection.run(
        `INSERT INTO t VALUES (${r.id}, ${r.brand === null ? 'NULL' : `'${r.brand}'`}, ${r.city === null ? 'NULL' : `'${r.city}'`}, ${r.tier ?? 'NULL'})`,
      );
    // The API's own dialect and reader conversion are not needed here: a minimal reader over the connection.
    const reader = {
      query: async (text: string, params: unknown[]) => {
        const prepared = await connection.prepare(text);
        params.forEach((p, i) => prepared.bindVarchar(i + 1, String(p)));
        return (await prepared.run()).getRowObjectsJson();
      },
    };
    const db = new Kysely<any>({ dialect: new WarehouseDialect(reader as never) });
    expect(predicates.length).toBeGreaterThan(100);
    for (const predicate of predicates) {
      const inMemory = ROWS.filter((row) =>
        rowMatches(predicate, (column) => {
          const value = row[column as keyof typeof row];
          return value === null ? null : String(value); // CAST(column AS VARCHAR)
        }),
      ).map((r) => r.id);
      expect(inMemory, JSON.stringify(predicate)).toEqual(await duckdbKeeps(db, predicate));
    }
    expect(predicateColumns({ and: [leaves[0]!, { or: [leaves[8]!, leaves[1]!] }] })).toEqual(['brand', 'city']);
    connection.closeSync();
    instance.closeSync();
  });
});
