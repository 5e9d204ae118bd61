import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { narrowerType, narrowWideNumberColumns } from '../../semantic/narrow-columns.ts';

describe('rollup column narrowing', () => {
  it('maps 128-bit number types to their 64-bit twins and leaves others alone', () => {
    expect(narrowerType('HUGEINT')).toBe('BIGINT');
    expect(narrowerType('DECIMAL(38,2)')).toBe('DECIMAL(18,2)');
    expect(narrowerType('DECIMAL(18,2)')).toBeUndefined();
    expect(narrowerType('BIGINT')).toBeUndefined();
    expect(narrowerType('DOUBLE')).toBeUndefined();
    expect(narrowerType('VARCHAR')).toBeUndefined();
  });

  it('narrows the columns whose values fit, keeps values, and leaves a column that would overflow wide', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run('CREATE SCHEMA r');
    // Sums typed by DuckDB as its load SQL would type them: sum(BIGINT) -> HUGEINT, sum(DECIMAL(18,2)) -> DECIMAL(38,2).
    await connection.run(`CREATE TABLE r."t" AS
      SELECT day, sum(units) AS units, sum(amount) AS amount, sum(big) AS big, sum(big_amount) AS big_amount, count(*) AS n, 'x' AS label
      FROM (VALUES
        (1, 3::BIGINT, 10.25::DECIMAL(18,2), 9223372036854775807::BIGINT, 9999999999999999.99::DECIMAL(18,2)),
        (1, NULL, NULL, 9223372036854775807::BIGINT, 9999999999999999.99::DECIMAL(18,2)),
        (2, -4::BIGINT, -0.5::DECIMAL(18,2), 1::BIGINT, 1::DECIMAL(18,2))
      ) AS v(day, units, amount, big, big_amount)
      GROUP BY day`);
    const before = (await connection.runAndReadAll('SELECT * FROM r.t ORDER BY day')).getRowsJson();
    const narrowed = await narrowWideNumberColumns(connection, 'r', 't');
    expect(narrowed).toEqual([
      { column: 'units', from: 'HUGEINT', to: 'BIGINT' },
      { column: 'amount', from: 'DECIMAL(38,2)', to: 'DECIMAL(18,2)' },
    ]);
    const types = (
      await connection.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 't' ORDER BY column_index`)
    ).getRows();
    expect(Object.fromEntries(types)).toEqual({
      day: 'INTEGER',
      units: 'BIGINT',
      amount: 'DECIMAL(18,2)',
      big: 'HUGEINT',
      big_amount: 'DECIMAL(38,2)',
      n: 'BIGINT',
      label: 'VARCHAR',
    });
    expect((await connection.runAndReadAll('SELECT * FROM r.t ORDER BY day')).getRowsJson()).toEqual(before);
    // A sum over a narrowed column is 128-bit again, so answers keep their type.
    expect((await connection.runAndReadAll('SELECT typeof(sum(units)), typeof(sum(amount)) FROM r.t')).getRows()[0]).toEqual([
      'HUGEINT',
      'DECIMAL(38,2)',
    ]);
    expect(await narrowWideNumberColumns(connection, 'r', 't')).toEqual([]);
    connection.closeSync();
    instance.closeSync();
  });
});
