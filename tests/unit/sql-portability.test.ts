import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../shared/paths.ts';

/**
 * The dbt project builds on DuckDB and on Spark (docs/spark.md). The constructs that broke the
 * Spark build once (issue 28) may appear only inside the dispatched macros that give each adapter
 * its own SQL. The real proof is tests/e2e/spark-equal-answers.test.ts; this catches a regression
 * in a second, without Spark.
 */
const RULES: Array<{ name: string; pattern: RegExp; allowedIn: string[] }> = [
  {
    name: 'percentile_cont ... within group (Spark before 3.3 lacks it): use the percentile macro',
    pattern: /percentile_cont\s*\(/i,
    allowedIn: ['macros/percentile.sql'],
  },
  { name: "like ... escape '\\' (a syntax error on Spark)", pattern: /\bescape\s+'/i, allowedIn: [] },
  {
    name: 'a literal incremental_strategy (delete+insert is no dbt-spark strategy): use crm_incremental_strategy()',
    pattern: /incremental_strategy\s*=\s*['"]/i,
    allowedIn: [],
  },
  {
    name: 'listagg / string_agg written directly: use dbt.listagg (ordered on Spark by macros/spark_adapter.sql)',
    pattern: /(?<!\.)\b(listagg|string_agg)\s*\(/i,
    allowedIn: ['macros/spark_adapter.sql'],
  },
  {
    name: 'json_extract_string (DuckDB only): use json_text',
    pattern: /json_extract(_string)?\s*\(/i,
    allowedIn: ['macros/portability.sql'],
  },
  {
    name: 'cast(... as varchar) (Spark 4 needs a length): cast as string (DuckDB and Spark) or crm_data_type',
    pattern: /\bas\s+varchar\b(?!\s*\()/i,
    allowedIn: [],
  },
  { name: 'a :: cast (DuckDB and PostgreSQL only): use cast(x as type)', pattern: /[\w)\]]::\w/, allowedIn: [] },
  {
    name: 'regexp_replace (flags differ by adapter): use strip_non_digits or a dispatched macro',
    pattern: /regexp_replace\s*\(/i,
    allowedIn: ['macros/contact_points.sql'],
  },
];

function sqlFiles(dir: string): string[] {
  return fs.readdirSync(path.join(projectRoot, dir), { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.relative(projectRoot, path.join(entry.parentPath, entry.name));
    return entry.isFile() && entry.name.endsWith('.sql') && !file.includes('sqlfluff_stubs') ? [file] : [];
  });
}

/** The text of a SQL file without its comments (-- lines and Jinja {# #} blocks). */
function code(file: string): string {
  return fs
    .readFileSync(path.join(projectRoot, file), 'utf8')
    .replace(/\{#[\s\S]*?#\}/g, '')
    .replace(/--[^\n]*/g, '');
}

describe('dbt SQL portability', () => {
  const files = ['models', 'macros', 'snapshots', 'tests/dbt'].flatMap(sqlFiles);

  it('finds the project SQL', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(RULES)('no $name outside the dispatched macros', ({ pattern, allowedIn }) => {
    const offenders = files.filter((file) => !allowedIn.includes(file) && pattern.test(code(file)));
    expect(offenders).toEqual([]);
  });

  it('contract and seed types are names the Spark translation knows (crm_data_type)', () => {
    const yml = ['models', 'seeds'].flatMap((dir) =>
      fs
        .readdirSync(path.join(projectRoot, dir), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.yml'))
        .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8')),
    );
    const types = new Set(
      yml.flatMap((text) => [...text.matchAll(/(?:data_type|^\s+\w+):\s*(varchar|text|string|char\b[^\n]*)$/gm)].map((m) => m[1]!.trim())),
    );
    // Only varchar (translated to string on Spark); a length-less char or a DuckDB-only name would not be.
    expect([...types].filter((t) => t !== 'varchar')).toEqual([]);
    // Test expressions in the YAML (column_name of a unique test) are SQL too.
    expect(yml.filter((text) => /cast\([^)]*\bas\s+varchar\)/i.test(text))).toEqual([]);
  });
});
