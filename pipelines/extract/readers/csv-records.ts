import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import type { ReadOptions, SourceRecord } from './source-record.ts';

/**
 * Streams a CSV export with a header row. Rows with the wrong number of columns are returned with
 * parseError instead of failing the whole file, so one broken line never blocks the rest.
 */
export async function* readCsvRecords(filePath: string, relativeTo: string, options: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const file = options.displayPath ?? path.relative(relativeTo, filePath).split(path.sep).join('/');
  const input = fs.createReadStream(filePath);
  if (options.onBytes) input.on('data', (chunk) => options.onBytes!(chunk as Buffer));
  const parser = input.pipe(
    parse({ bom: true, delimiter: options.delimiter ?? ',', relax_column_count: true, skip_empty_lines: true, info: true, raw: true }),
  );
  let header: string[] | null = null;
  for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
    const line = row.info.lines;
    if (header === null) {
      header = row.record.map((name) => name.trim());
      continue;
    }
    const rawText = row.raw.replace(/\r?\n$/, '');
    const location = `${file}:${line}`;
    if (row.record.length !== header.length) {
      yield {
        location,
        file,
        line,
        fields: null,
        rawText,
        parseError: `expected ${header.length} columns, found ${row.record.length}`,
      };
      continue;
    }
    const fields: Record<string, unknown> = {};
    header.forEach((name, i) => (fields[name] = row.record[i]));
    yield { location, file, line, fields, rawText };
  }
}
