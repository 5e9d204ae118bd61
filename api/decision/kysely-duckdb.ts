import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { WarehouseReader } from '../../semantic/warehouse-reader.ts';

/**
 * A kysely dialect over the API's read-only WarehouseReader (@duckdb/node-api 1.5.x). No published
 * kysely dialect supports @duckdb/node-api 1.5 (kysely-duckdb targets the old `duckdb` package), and
 * the reader already handles read-only opening, idle close and version swaps on publish, so the
 * driver is a thin adapter: DuckDB speaks PostgreSQL's identifier quoting and $n parameters, so
 * kysely's PostgreSQL compiler writes the SQL. Values come back as the reader converts them
 * (numbers and decimals as strings, timestamps as ISO strings); the zod response schemas coerce them.
 * Read-only: there are no transactions to run.
 */
class WarehouseConnection implements DatabaseConnection {
  constructor(
    private readonly reader: WarehouseReader,
    private readonly timeoutMs: number,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const rows = await this.reader.query(compiled.sql, [...compiled.parameters], { timeoutMs: this.timeoutMs });
    return { rows: rows as R[] };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    for await (const rows of this.reader.stream(compiled.sql, [...compiled.parameters])) yield { rows: rows as R[] };
  }
}

class WarehouseDriver implements Driver {
  constructor(
    private readonly reader: WarehouseReader,
    private readonly timeoutMs: number,
  ) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return new WarehouseConnection(this.reader, this.timeoutMs);
  }
  async beginTransaction(): Promise<void> {
    throw new Error('the warehouse is read-only: transactions are not supported');
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {} // the reader belongs to the server
}

export class WarehouseDialect implements Dialect {
  constructor(
    private readonly reader: WarehouseReader,
    private readonly options: { timeoutMs?: number } = {},
  ) {}
  createDriver(): Driver {
    return new WarehouseDriver(this.reader, this.options.timeoutMs ?? 0);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
