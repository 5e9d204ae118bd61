import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SqlError } from './sql-error.ts';
import { PG_TYPES, type PgType, type SqlTable } from './tables.ts';

/**
 * Catalog emulation: what psql's \dt and \d, the pg Node client, psycopg and SQLAlchemy's
 * reflection read from pg_catalog and information_schema, answered by an in-memory DuckDB that
 * holds only the caller's tables' names, columns and types (no rows, no files: external access is
 * off). A catalog query is rewritten to read crm_catalog / crm_information_schema, tables laid out
 * like Postgres' own (real type OIDs), and run there with a time limit. The warehouse is never
 * reached from here: view data comes only through the semantic layer (translate.ts).
 */

export const SERVER_VERSION = '15.0';
export const VERSION_TEXT = `PostgreSQL ${SERVER_VERSION} (customer-value warehouse SQL door over the Cube semantic layer)`;
const CATALOG_TIMEOUT_MS = 5_000;
const PUBLIC_OID = 2200;
const CATALOG_OID = 11;
const INFO_OID = 13000;
const TABLE_OID_BASE = 20000;

const TYPE_ROWS: [PgType, string][] = [
  [PG_TYPES.bool, 'bool'],
  [PG_TYPES.int8, 'int8'],
  [PG_TYPES.int2, 'int2'],
  [PG_TYPES.int4, 'int4'],
  [PG_TYPES.text, 'text'],
  [PG_TYPES.oid, 'oid'],
  [PG_TYPES.float8, 'float8'],
  [PG_TYPES.numeric, 'numeric'],
  [PG_TYPES.timestamp, 'timestamp'],
  [PG_TYPES.date, 'date'],
  [PG_TYPES.name, 'name'],
  [PG_TYPES.char, 'char'],
  [{ oid: 1043, size: -1, name: 'character varying' }, 'varchar'],
];

/** The (empty) view tables in the catalog get these types, so describing a view's columns gives the door's own. */
const DUCKDB_TYPES: Record<number, string> = { 25: 'VARCHAR', 1700: 'DECIMAL(38,10)', 20: 'BIGINT', 16: 'BOOLEAN', 1114: 'TIMESTAMP' };

const q = (text: string) => `'${text.replace(/'/g, "''")}'`;

function schemaSql(tables: SqlTable[], user: string, database: string): string {
  const classRows: string[] = [];
  const attributeRows: string[] = [];
  const descriptionRows: string[] = [];
  const infoTables: string[] = [];
  const infoColumns: string[] = [];
  tables.forEach((table, t) => {
    const oid = TABLE_OID_BASE + t;
    classRows.push(`(${oid}, ${q(table.name)}, ${PUBLIC_OID}, 'r', 10, 2, 0, ${table.columns.length})`);
    if (table.description) descriptionRows.push(`(${oid}, 1259, 0, ${q(table.description)})`);
    infoTables.push(`(${q(database)}, 'public', ${q(table.name)}, 'BASE TABLE')`);
    table.columns.forEach((column, c) => {
      attributeRows.push(`(${oid}, ${q(column.name)}, ${column.pg.oid}, ${c + 1}, -1, ${column.pg.size})`);
      if (column.description) descriptionRows.push(`(${oid}, 1259, ${c + 1}, ${q(column.description)})`);
      infoColumns.push(
        `(${q(database)}, 'public', ${q(table.name)}, ${q(column.name)}, ${c + 1}, 'YES', ${q(column.pg.name)}, ${q(TYPE_ROWS.find(([p]) => p.oid === column.pg.oid)?.[1] ?? 'text')})`,
      );
    });
  });
  const values = (rows: string[], empty: string) => (rows.length ? `VALUES ${rows.join(',\n')}` : `SELECT ${empty} WHERE false`);
  return `
    CREATE SCHEMA public;
    CREATE SCHEMA crm_catalog;
    CREATE SCHEMA crm_information_schema;
    CREATE TYPE crm_catalog.name AS VARCHAR;
    CREATE TYPE crm_catalog.regclass AS BIGINT;
    CREATE TYPE crm_catalog.regtype AS BIGINT;
    CREATE TYPE crm_catalog.regproc AS VARCHAR;
    CREATE TABLE crm_catalog.pg_namespace AS SELECT * FROM (VALUES (${CATALOG_OID}, 'pg_catalog', 10, NULL), (${PUBLIC_OID}, 'public', 10, NULL), (${INFO_OID}, 'information_schema', 10, NULL))
      t(oid, nspname, nspowner, nspacl);
    CREATE TABLE crm_catalog.pg_class AS SELECT oid::BIGINT AS oid, relname::VARCHAR AS relname, relnamespace::BIGINT AS relnamespace,
      relkind::VARCHAR AS relkind, relowner::BIGINT AS relowner, relam::BIGINT AS relam, 0::BIGINT AS reltablespace, 0::BIGINT AS relfilenode,
      reltuples::DOUBLE AS reltuples, relnatts::INTEGER AS relnatts, false AS relhasindex, false AS relisshared, 'p' AS relpersistence,
      false AS relhasrules, false AS relhastriggers, false AS relhassubclass, false AS relrowsecurity, false AS relforcerowsecurity,
      true AS relispopulated, 'd' AS relreplident, false AS relispartition, 0::BIGINT AS reltoastrelid, 0::BIGINT AS reloftype,
      0::BIGINT AS reltype, 0 AS relchecks, NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound, NULL::VARCHAR[] AS relacl
      FROM (${values(classRows, '0, NULL, 0, NULL, 0, 0, 0, 0')}) t(oid, relname, relnamespace, relkind, relowner, relam, reltuples, relnatts);
    CREATE TABLE crm_catalog.pg_attribute AS SELECT attrelid::BIGINT AS attrelid, attname::VARCHAR AS attname, atttypid::BIGINT AS atttypid,
      attnum::INTEGER AS attnum, atttypmod::INTEGER AS atttypmod, attlen::INTEGER AS attlen, false AS attnotnull, false AS attisdropped,
      false AS atthasdef, '' AS attidentity, '' AS attgenerated, 0::BIGINT AS attcollation, 0 AS attndims, true AS attislocal,
      0 AS attinhcount, -1 AS attstattarget, 'x' AS attstorage, '' AS attcompression, NULL::VARCHAR[] AS attoptions, NULL::VARCHAR[] AS attacl, false AS atthasmissing
      FROM (${values(attributeRows, '0, NULL, 0, 0, 0, 0')}) t(attrelid, attname, atttypid, attnum, atttypmod, attlen);
    CREATE TABLE crm_catalog.pg_type AS SELECT oid::BIGINT AS oid, typname::VARCHAR AS typname, ${CATALOG_OID}::BIGINT AS typnamespace,
      10::BIGINT AS typowner, typlen::INTEGER AS typlen, true AS typbyval, 'b' AS typtype, 'U' AS typcategory, false AS typispreferred,
      true AS typisdefined, ',' AS typdelim, 0::BIGINT AS typrelid, 0::BIGINT AS typelem, 0::BIGINT AS typarray, 0::BIGINT AS typbasetype,
      -1 AS typtypmod, false AS typnotnull, 0 AS typndims, 0::BIGINT AS typcollation, NULL::VARCHAR AS typdefault
      FROM (VALUES ${TYPE_ROWS.map(([p, name]) => `(${p.oid}, ${q(name)}, ${p.size})`).join(', ')}) t(oid, typname, typlen);
    CREATE TABLE crm_catalog.pg_description AS SELECT objoid::BIGINT AS objoid, classoid::BIGINT AS classoid, objsubid::INTEGER AS objsubid,
      description::VARCHAR AS description FROM (${values(descriptionRows, '0, 0, 0, NULL')}) t(objoid, classoid, objsubid, description);
    CREATE TABLE crm_catalog.pg_am AS SELECT * FROM (VALUES (2, 'heap', 't')) t(oid, amname, amtype);
    CREATE TABLE crm_catalog.pg_database AS SELECT * FROM (VALUES (1, ${q(database)}, 10, 6, 'en_US.UTF-8', 'en_US.UTF-8', false, true, -1, NULL::VARCHAR[],
      'c', NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, 1663))
      t(oid, datname, datdba, encoding, datcollate, datctype, datistemplate, datallowconn, datconnlimit, datacl, datlocprovider, daticulocale,
        daticurules, datcollversion, dattablespace);
    CREATE TABLE crm_catalog.pg_roles AS SELECT * FROM (VALUES (10, ${q(user)}, false, false, false, false, true)) t(oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin);
    CREATE TABLE crm_catalog.pg_user AS SELECT rolname AS usename, oid AS usesysid, false AS usesuper FROM crm_catalog.pg_roles;
    CREATE TABLE crm_catalog.pg_index (indexrelid BIGINT, indrelid BIGINT, indnatts INTEGER, indnkeyatts INTEGER, indisunique BOOLEAN, indisprimary BOOLEAN,
      indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, indisvalid BOOLEAN, indisreplident BOOLEAN, indkey INTEGER[],
      indoption INTEGER[], indclass BIGINT[], indcollation BIGINT[], indexprs VARCHAR, indpred VARCHAR, indnullsnotdistinct BOOLEAN);
    CREATE TABLE crm_catalog.pg_opclass (oid BIGINT, opcname VARCHAR, opcmethod BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opcnamespace BIGINT);
    CREATE TABLE crm_catalog.pg_constraint (oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, conrelid BIGINT, confrelid BIGINT,
      conindid BIGINT, conkey INTEGER[], confkey INTEGER[], condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, conislocal BOOLEAN,
      conparentid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR);
    CREATE TABLE crm_catalog.pg_attrdef (oid BIGINT, adrelid BIGINT, adnum INTEGER, adbin VARCHAR);
    CREATE TABLE crm_catalog.pg_inherits (inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN);
    CREATE TABLE crm_catalog.pg_collation (oid BIGINT, collname VARCHAR, collnamespace BIGINT);
    CREATE TABLE crm_catalog.pg_enum (oid BIGINT, enumtypid BIGINT, enumsortorder DOUBLE, enumlabel VARCHAR);
    CREATE TABLE crm_catalog.pg_proc (oid BIGINT, proname VARCHAR, pronamespace BIGINT, prokind VARCHAR);
    CREATE TABLE crm_catalog.pg_policy (oid BIGINT, polname VARCHAR, polrelid BIGINT, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR, polcmd VARCHAR);
    CREATE TABLE crm_catalog.pg_trigger (oid BIGINT, tgrelid BIGINT, tgname VARCHAR, tgisinternal BOOLEAN);
    CREATE TABLE crm_catalog.pg_rewrite (oid BIGINT, rulename VARCHAR, ev_class BIGINT);
    CREATE TABLE crm_catalog.pg_statistic_ext (oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxkind VARCHAR[], stxstattarget INTEGER);
    CREATE TABLE crm_catalog.pg_publication (oid BIGINT, pubname VARCHAR, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN);
    CREATE TABLE crm_catalog.pg_publication_namespace (oid BIGINT, pnpubid BIGINT, pnnspid BIGINT);
    CREATE TABLE crm_catalog.pg_publication_rel (oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs INTEGER[]);
    CREATE TABLE crm_catalog.pg_foreign_table (ftrelid BIGINT, ftserver BIGINT);
    CREATE TABLE crm_catalog.pg_partitioned_table (partrelid BIGINT);
    CREATE TABLE crm_catalog.pg_sequence (seqrelid BIGINT);
    CREATE TABLE crm_catalog.pg_extension (oid BIGINT, extname VARCHAR, extversion VARCHAR);
    CREATE TABLE crm_catalog.pg_settings AS SELECT * FROM (VALUES ('server_version', ${q(SERVER_VERSION)}), ('standard_conforming_strings', 'on'),
      ('client_encoding', 'UTF8'), ('max_identifier_length', '63'), ('default_table_access_method', 'heap'),
      ('search_path', 'public'), ('server_encoding', 'UTF8'), ('TimeZone', 'UTC')) t(name, setting);
    CREATE TABLE crm_catalog.pg_tablespace AS SELECT * FROM (VALUES (1663, 'pg_default', 10)) t(oid, spcname, spcowner);
    CREATE MACRO crm_catalog.current_setting(n) AS (SELECT first(setting) FROM crm_catalog.pg_settings WHERE lower(name) = lower(n));
    CREATE MACRO crm_catalog.version() AS ${q(VERSION_TEXT)};
    CREATE MACRO crm_catalog.current_schema() AS 'public';
    CREATE MACRO crm_catalog.current_schemas(b) AS ['public'];
    CREATE MACRO crm_catalog.current_database() AS ${q(database)};
    CREATE MACRO crm_catalog.current_user() AS ${q(user)};
    CREATE MACRO crm_catalog.session_user() AS ${q(user)};
    CREATE MACRO crm_catalog.pg_backend_pid() AS 1;
    CREATE MACRO crm_catalog.pg_table_size(x) AS 0;
    CREATE MACRO crm_catalog.pg_relation_size(x) AS 0;
    CREATE MACRO crm_catalog.pg_total_relation_size(x) AS 0;
    CREATE MACRO crm_catalog.pg_size_pretty(x) AS '0 bytes';
    CREATE MACRO crm_catalog.array_upper(a, d) AS len(a);
    CREATE MACRO crm_catalog.pg_get_serial_sequence(a, b) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.json_build_object(a, b) AS NULL::VARCHAR, (a, b, c, d) AS NULL::VARCHAR, (a, b, c, d, e, f, g, h, i, j, k, l, m, n) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.to_regtype(x) AS (SELECT first(oid) FROM crm_catalog.pg_type WHERE typname = x);
    CREATE MACRO crm_catalog.to_regclass(x) AS (SELECT first(oid) FROM crm_catalog.pg_class WHERE relname = x);
    CREATE MACRO crm_catalog.array_lower(a, d) AS 1;
    CREATE TYPE crm_catalog.int2 AS SMALLINT;
    CREATE MACRO crm_catalog.pg_sleep(x) AS error('pg_sleep is not supported by the SQL door');
    CREATE MACRO crm_catalog.pg_get_userbyid(x) AS ${q(user)};
    CREATE MACRO crm_catalog.pg_table_is_visible(x) AS true;
    CREATE MACRO crm_catalog.pg_type_is_visible(x) AS true;
    CREATE MACRO crm_catalog.pg_encoding_to_char(x) AS 'UTF8';
    CREATE MACRO crm_catalog.pg_get_expr(a, b) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.pg_get_indexdef(a) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.pg_get_constraintdef(a) AS NULL::VARCHAR, (a, b) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.pg_get_viewdef(a) AS NULL::VARCHAR, (a, b) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.pg_get_statisticsobjdef_columns(a) AS NULL::VARCHAR;
    CREATE MACRO crm_catalog.pg_relation_is_publishable(a) AS false;
    CREATE MACRO crm_catalog.has_table_privilege(a, b) AS true, (a, b, c) AS true;
    CREATE MACRO crm_catalog.has_schema_privilege(a, b) AS true, (a, b, c) AS true;
    CREATE MACRO crm_catalog.has_database_privilege(a, b) AS true;
    CREATE MACRO crm_catalog.obj_description(a, b) AS (SELECT first(description) FROM crm_catalog.pg_description d WHERE d.objoid = a AND d.objsubid = 0);
    CREATE MACRO crm_catalog.col_description(a, n) AS (SELECT first(description) FROM crm_catalog.pg_description d WHERE d.objoid = a AND d.objsubid = n);
    CREATE MACRO crm_catalog.format_type(t, m) AS (SELECT first(CASE typname WHEN 'int8' THEN 'bigint' WHEN 'int4' THEN 'integer' WHEN 'int2' THEN 'smallint'
      WHEN 'bool' THEN 'boolean' WHEN 'float8' THEN 'double precision' WHEN 'timestamp' THEN 'timestamp without time zone'
      WHEN 'varchar' THEN 'character varying' ELSE typname END) FROM crm_catalog.pg_type WHERE oid = t);
    CREATE SCHEMA crm_information_schema_src;
    CREATE TABLE crm_information_schema.schemata AS SELECT * FROM (VALUES (${q(database)}, 'public', ${q(user)}), (${q(database)}, 'information_schema', ${q(user)}),
      (${q(database)}, 'pg_catalog', ${q(user)})) t(catalog_name, schema_name, schema_owner);
    CREATE TABLE crm_information_schema.tables AS SELECT table_catalog::VARCHAR AS table_catalog, table_schema::VARCHAR AS table_schema,
      table_name::VARCHAR AS table_name, table_type::VARCHAR AS table_type, 'NO' AS is_insertable_into, NULL::VARCHAR AS self_referencing_column_name
      FROM (${values(infoTables, 'NULL, NULL, NULL, NULL')}) t(table_catalog, table_schema, table_name, table_type);
    CREATE TABLE crm_information_schema.views (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR);
    CREATE TABLE crm_information_schema.columns AS SELECT table_catalog::VARCHAR AS table_catalog, table_schema::VARCHAR AS table_schema,
      table_name::VARCHAR AS table_name, column_name::VARCHAR AS column_name, ordinal_position::INTEGER AS ordinal_position, NULL::VARCHAR AS column_default,
      is_nullable::VARCHAR AS is_nullable, data_type::VARCHAR AS data_type, udt_name::VARCHAR AS udt_name, NULL::INTEGER AS character_maximum_length,
      NULL::INTEGER AS numeric_precision, NULL::INTEGER AS numeric_scale, NULL::INTEGER AS datetime_precision, 'NO' AS is_identity, 'NEVER' AS is_generated,
      NULL::VARCHAR AS collation_name, 'NO' AS is_updatable
      FROM (${values(infoColumns, 'NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL')}) t(table_catalog, table_schema, table_name, column_name, ordinal_position, is_nullable, data_type, udt_name);
    CREATE MACRO crm_information_schema._pg_expandarray(arr) AS {'x': arr[1], 'n': 1};
    CREATE TABLE crm_information_schema.key_column_usage (constraint_name VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR);
    CREATE TABLE crm_information_schema.table_constraints (constraint_name VARCHAR, table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR);
    CREATE TABLE crm_information_schema.referential_constraints (constraint_name VARCHAR);
    CREATE TABLE crm_information_schema.routines (routine_name VARCHAR, routine_schema VARCHAR);
    ${tables.map((table) => `CREATE TABLE public.${JSON.stringify(table.name)} (${table.columns.map((c) => `${JSON.stringify(c.name)} ${DUCKDB_TYPES[c.pg.oid] ?? 'VARCHAR'}`).join(', ')});`).join('\n')}
    SET search_path = 'crm_catalog,public';
  `;
}

const isCatalogRelation = (t: { schema: string | null; name: string }) =>
  t.schema === 'pg_catalog' || t.schema === 'information_schema' || (!t.schema && /^pg_/.test(t.name));

/**
 * Where a SELECT goes: 'catalog' when every relation it reads is a catalog one (or it reads none,
 * e.g. SELECT version()), 'views' when none is; a mix is refused (the catalog holds no rows).
 * `tables` undefined: the parser could not read the statement (Postgres-only catalog syntax).
 */
export function routeOf(sql: string, tables: { schema: string | null; name: string }[] | undefined): 'catalog' | 'views' {
  if (tables === undefined) {
    if (/\b(pg_catalog|information_schema)\s*\.|\bpg_[a-z_]+\b/i.test(sql)) return 'catalog';
    return 'views';
  }
  const catalog = tables.filter(isCatalogRelation);
  if (catalog.length === tables.length) return 'catalog';
  if (catalog.length === 0) return 'views';
  throw new SqlError('0A000', 'a query that reads both the catalog and a view is not supported by the SQL door');
}

/** The OIDs Postgres gives its own catalog tables ('pg_class'::regclass and the like). */
const SYSTEM_RELATION_OIDS: Record<string, number> = {
  pg_class: 1259,
  pg_attribute: 1249,
  pg_type: 1247,
  pg_proc: 1255,
  pg_namespace: 2615,
  pg_constraint: 2606,
  pg_index: 2610,
  pg_description: 2609,
  pg_database: 1262,
};

/** 'name'::regclass: a catalog table's fixed OID, a view table's from the emulated pg_class. */
function regclassOf(name: string): string {
  const bare = name.replace(/^(public|pg_catalog)\./, '').replace(/"/g, '');
  const fixed = SYSTEM_RELATION_OIDS[bare];
  return fixed !== undefined
    ? String(fixed)
    : `(SELECT first(oid) FROM crm_catalog.pg_class WHERE relname = '${bare.replace(/'/g, "''")}')`;
}

/** Postgres spellings DuckDB does not read, rewritten before the catalog runs the statement. */
export function rewriteCatalogSql(sql: string): string {
  return (
    sql
      .replace(/OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!=<>]+)\s*\)/gi, ' $1 ')
      .replace(/\s+COLLATE\s+(pg_catalog\s*\.\s*)?"?(default|C|POSIX)"?/gi, '')
      // Postgres' ~ matches anywhere in the string, DuckDB's whole string: regexp_matches is Postgres' ~.
      .replace(
        /([A-Za-z_][\w.]*)\s*(!~|~)\s*('(?:[^']|'')*')/g,
        (_whole, left: string, op: string, pattern: string) => `${op === '!~' ? 'NOT ' : ''}regexp_matches(${left}, ${pattern})`,
      )
      .replace(/'([^']*)'\s*::\s*(pg_catalog\s*\.\s*)?regclass\b/gi, (_whole, name: string) => regclassOf(name))
      .replace(/CAST\s*\(\s*'([^']*)'\s+AS\s+(pg_catalog\s*\.\s*)?regclass\s*\)/gi, (_whole, name: string) => regclassOf(name))
      .replace(/::\s*(pg_catalog\s*\.\s*)?(regclass|regtype|regproc|regnamespace|oid)\b/gi, '::BIGINT')
      .replace(/\bAS\s+(pg_catalog\s*\.\s*)?(regclass|regtype|regproc|regnamespace|oid)\s*\)/gi, 'AS BIGINT)')
      // x = ANY(array_column): DuckDB reads ANY(...) as a subquery, which it cannot put in an outer join's
      // condition (SQLAlchemy 1.4's get_indexes, what Superset 5 calls adding a dataset); list_contains is the same test.
      .replace(/([A-Za-z_][\w.]*)\s*=\s*ANY\s*\(\s*([A-Za-z_][\w.]*)\s*\)/gi, (whole, left: string, list: string) =>
        /^select$/i.test(list) ? whole : `list_contains(${list}, ${left})`,
      )
      // Unqualified, the search path (crm_catalog first) finds the emulated tables and functions, then DuckDB's own.
      .replace(/\bpg_catalog\s*\.\s*/gi, '')
      .replace(/\binformation_schema\s*\.\s*/gi, 'crm_information_schema.')
      // A set-returning function aliased like a table names its column too in Postgres.
      .replace(/(generate_series\([^;]*?\)\)?)\s+(?:AS\s+)?([a-z_]+)\s*,/gi, '$1 AS $2($2),')
  );
}

export interface CatalogResult {
  columns: { name: string; pg: PgType }[];
  rows: (string | null)[][];
}

function pgTypeOfDuckDb(typeText: string): PgType {
  const type = typeText.toUpperCase();
  if (type === 'BOOLEAN') return PG_TYPES.bool;
  if (type === 'BIGINT' || type === 'HUGEINT' || type === 'UBIGINT') return PG_TYPES.int8;
  if (type === 'INTEGER' || type === 'UINTEGER') return PG_TYPES.int4;
  if (type === 'SMALLINT' || type === 'TINYINT' || type === 'USMALLINT' || type === 'UTINYINT') return PG_TYPES.int2;
  if (type === 'DOUBLE' || type === 'FLOAT') return PG_TYPES.float8;
  if (type.startsWith('DECIMAL')) return PG_TYPES.numeric;
  if (type.startsWith('TIMESTAMP')) return PG_TYPES.timestamp;
  if (type === 'DATE') return PG_TYPES.date;
  return PG_TYPES.text;
}

function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (Array.isArray(value)) return `{${value.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
  return String(value);
}

/** One caller's catalog: an in-memory DuckDB with its tables' shape only. */
export class Catalog {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async create(tables: SqlTable[], user: string, database: string): Promise<Catalog> {
    const instance = await DuckDBInstance.create(':memory:', { enable_external_access: 'false', threads: '1', memory_limit: '64MB' });
    const connection = await instance.connect();
    await connection.run(schemaSql(tables, user, database));
    await connection.run('SET lock_configuration = true');
    return new Catalog(instance, connection);
  }

  async query(sql: string): Promise<CatalogResult> {
    const rewritten = rewriteCatalogSql(sql);
    const timer = setTimeout(() => this.connection.interrupt(), CATALOG_TIMEOUT_MS);
    try {
      const reader = await this.connection.runAndReadAll(rewritten);
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const columns = names.map((name, i) => ({
        name: name.replace(/^(?:[a-z_]+\.)?"?([a-z_]+)"?\(.*\)$/i, '$1'),
        pg: pgTypeOfDuckDb(types[i]!.toString()),
      }));
      const rows = reader.getRowsJS().map((row) => row.map(textOf));
      return { columns, rows };
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      if (/INTERRUPT/i.test(message)) throw new SqlError('57014', `catalog query cancelled after ${CATALOG_TIMEOUT_MS} ms`);
      throw new SqlError('0A000', `catalog query not supported by the SQL door's catalog emulation: ${message.slice(0, 300)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.connection.closeSync();
      this.instance.closeSync();
    } catch {
      // already closed
    }
  }
}
