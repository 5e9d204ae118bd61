import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FILE_ENCODINGS } from '../../../shared/source-settings.ts';
import { ConfigError } from '../../../shared/config.ts';
import { projectRoot } from '../../../shared/paths.ts';

/**
 * A source mapping: how one shop's export becomes the canonical records (docs/bring-your-own-data.md).
 * Written in YAML by a data engineer (or picked from the presets beside this file), checked by this
 * schema; `crm sources schema` prints it as JSON Schema for editors. Field values are DuckDB SQL
 * expressions over the file's columns, so the mapping is data, not converter code.
 */

/** How an export writes numbers: 1234.56 (the default), 1.234,56 (much of Europe), 1 234,56, 1'234.56. */
export const DECIMAL_SEPARATORS = ['.', ','] as const;
export const THOUSANDS_SEPARATORS = ['', ',', '.', ' ', "'"] as const;

/** A canonical field's value: a SQL expression over the file's columns, a constant, a timestamp parsed from local time, or a number in the file's notation. */
const fieldValueSchema = z.union([
  z.string().min(1).describe('DuckDB SQL expression over the columns of the file (quote names with spaces: "Created at")'),
  z
    .object({ const: z.union([z.string(), z.number(), z.boolean(), z.null()]) })
    .strict()
    .describe('the same value on every record'),
  z
    .object({
      timestamp: z.string().min(1).describe('SQL expression giving the text of a date or time'),
      format: z.string().min(1).optional().describe('strptime format, e.g. %Y%m%d or %d/%m/%Y %H:%M (default: ISO 8601)'),
      timezone: z
        .string()
        .min(1)
        .optional()
        .describe("IANA zone of times without an offset, or shop (config shop.timezone) (default: the mapping's format.timezone)"),
    })
    .strict()
    .describe('a date or time; naive local times are read in the time zone and stored as UTC instants'),
  z
    .object({
      number: z.string().min(1).describe('SQL expression giving the text of a number, e.g. "Preis" holding 1.234,56'),
      decimal: z.enum(DECIMAL_SEPARATORS).optional().describe("the decimal separator (default: the mapping's format.decimal)"),
      thousands: z.enum(THOUSANDS_SEPARATORS).optional().describe("the thousands separator (default: the mapping's format.thousands)"),
    })
    .strict()
    .describe('a number written with a decimal comma or thousands separators, read as a plain decimal'),
]);

const recordMappingSchema = z
  .object({
    /** SQL condition: only rows for which it is true become this record (e.g. quantity < 0 for returns). */
    where: z.string().min(1).optional(),
    /**
     * SQL expression: only the first row (in file order) of each of its values becomes this record,
     * e.g. one order per invoice of an order-lines export ("InvoiceNo"). Fields may use window
     * functions over all the rows the where keeps (a sum over the invoice's lines).
     */
    one_per: z.string().min(1).optional(),
    /**
     * SQL expression giving a JSON array (an NDJSON order's "lines"): one record per element, with
     * the element as the JSON column `item` (item ->> 'sku') and its position, from 1, as `item_no`.
     */
    each: z.string().min(1).optional(),
    fields: z.record(z.string().min(1), fieldValueSchema),
  })
  .strict();

/**
 * The canonical records a mapping can produce. The order family's five, or customers (profiles: each
 * row also kept as a version in customer_versions), the service family's three (tickets, their
 * events, contacts), or opinion_posts (scored at load):
 * one mapping's records all belong to one family, the raw tables one source writes.
 */
export const MAPPED_RECORD_TABLES = [
  'orders',
  'order_items',
  'order_payments',
  'order_refunds',
  'order_cancellations',
  'customers',
  'service_tickets',
  'service_ticket_events',
  'service_contacts',
  'opinion_posts',
] as const;

/** One kind of file in the source's folder and the canonical records it produces. */
const fileKindShape = {
  /** File-name patterns in the source's folder (* and ? wildcards), e.g. ["*.csv", "orders_*.txt"]. */
  match: z.array(z.string().min(1)).min(1).default(['*.csv']),
  format: z
    .object({
      type: z.enum(['delimited', 'ndjson']).default('delimited'),
      /** One character, or "whitespace" for columns separated by runs of spaces or tabs (fixed-width logs). */
      delimiter: z.union([z.string().length(1), z.literal('whitespace')]).default(','),
      /**
       * The quote character of fields that hold the delimiter or line breaks ("a;b"), doubled inside
       * them; '' for files that quote nothing (a quote is then just text).
       */
      quote: z.enum(['"', "'", '']).default('"'),
      /** Whether the first non-blank line names the columns. */
      header: z.boolean().default(true),
      /**
       * Columns some files of this kind may lack (an export that gained a column, a landing format's
       * optional fields): where a file has no such column it reads as empty (NULL) instead of the
       * mapping not fitting the file.
       */
      optional_columns: z.array(z.string().min(1)).default([]),
      /**
       * NDJSON: how a field mapped from a key by name sees the key's JSON value. `text` (the default):
       * numbers and booleans as their text, so an id written as 123 is the id "123". `typed`: the
       * value keeps its JSON type for the record's checks, as the built-in file drop reads the landing
       * format (an id written as 123 is rejected: expected string, received number).
       */
      json_values: z.enum(['text', 'typed']).default('text'),
      /** Column names, in order, for files without a header (or to rename a header's columns). */
      columns: z.array(z.string().min(1)).optional(),
      encoding: z.enum(FILE_ENCODINGS).default('auto'),
      /** IANA zone of timestamps without an offset, or `shop`: the config's shop.timezone (right for dates without a time). */
      timezone: z.string().min(1).default('UTC'),
      /**
       * How the file writes numbers: its decimal separator and thousands separator (none by default).
       * Applied to the canonical number fields (amounts, prices, quantities) mapped from a column by name,
       * and to `{ number: ... }` fields; an expression computing a number is left as it is.
       */
      decimal: z.enum(DECIMAL_SEPARATORS).default('.'),
      thousands: z.enum(THOUSANDS_SEPARATORS).default(''),
    })
    .strict()
    .prefault({}),
  /** One entry per canonical record this file produces (an order-lines export gives orders, order_items and refunds). */
  records: z.partialRecord(z.enum(MAPPED_RECORD_TABLES), recordMappingSchema),
};
const fileKindSchema = z.object(fileKindShape).strict();

export const mappingSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().default(''),
    match: fileKindShape.match.optional(),
    format: fileKindShape.format.optional(),
    records: fileKindShape.records.optional(),
    /** Several kinds of file in one folder (a seller centre's order report and its item report), each with its own match, format and records. */
    files: z.array(fileKindSchema).min(1).optional(),
  })
  .strict()
  .refine((m) => (m.files === undefined) !== (m.records === undefined), {
    message: 'declare records (one kind of file) or files (several kinds), not both',
  })
  .refine((m) => [m.format, ...(m.files ?? []).map((f) => f.format)].every((f) => f === undefined || f.decimal !== f.thousands), {
    message: 'format.decimal and format.thousands must differ',
  });

/** One kind of file of a mapping, with the mapping's name (for messages). */
export type SourceMapping = z.infer<typeof fileKindSchema> & { name: string; description: string };
/** A mapping file as loaded: its kinds of file, tried in order for each file name. */
export interface LoadedMapping {
  name: string;
  description: string;
  kinds: SourceMapping[];
}
export type FieldValue = z.infer<typeof fieldValueSchema>;
export type MappedTable = (typeof MAPPED_RECORD_TABLES)[number];

export const PRESETS_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'presets');
/** The mapping file's JSON Schema in the repository (`crm sources schema` writes it; a test keeps it current). */
export const MAPPING_SCHEMA_FILE = path.join(projectRoot, 'schemas', 'source-mapping.schema.json');

/** The shipped presets by name (file stem of presets/*.yml). */
export function presetNames(): string[] {
  return fs
    .readdirSync(PRESETS_DIR)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** A mapping that cannot be used: a configuration error (exit 2), named by file and key. */
export class MappingError extends ConfigError {
  override name = 'MappingError';
}

/** Reads a mapping: `preset:<name>` or a path to a YAML/JSON file. */
export function loadMapping(reference: string, baseDir: string): LoadedMapping {
  const file = reference.startsWith('preset:')
    ? path.join(PRESETS_DIR, `${reference.slice('preset:'.length)}.yml`)
    : path.resolve(baseDir, reference);
  if (!fs.existsSync(file)) {
    const hint = reference.startsWith('preset:') ? ` (presets: ${presetNames().join(', ')})` : '';
    throw new MappingError(`mapping ${reference} not found: ${file}${hint}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new MappingError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) {
    throw new MappingError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const { name, description } = parsed.data;
  const kinds = (
    parsed.data.files ?? [fileKindSchema.parse({ match: parsed.data.match, format: parsed.data.format, records: parsed.data.records })]
  ).map((kind) => ({ ...kind, name, description }));
  kinds.forEach((kind, i) => {
    if (Object.keys(kind.records).length === 0)
      throw new MappingError(`${file}: ${parsed.data.files ? `files.${i}.` : ''}records: maps no canonical record`);
  });
  return { name, description, kinds };
}

/** The mapping file's JSON Schema (for editors: `# yaml-language-server: $schema=...`). */
export function mappingJsonSchema(): unknown {
  return z.toJSONSchema(mappingSchema, { io: 'input' });
}
