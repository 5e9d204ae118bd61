import fs from 'node:fs';
import readline from 'node:readline';
import path from 'node:path';
import type { SourceRecord } from './source-record.ts';

/** Streams an NDJSON file a line at a time; a line that is not a JSON object is returned with parseError. */
export async function* readNdjsonRecords(filePath: string, relativeTo: string): AsyncGenerator<SourceRecord> {
  const file = path.relative(relativeTo, filePath);
  const lines = readline.createInterface({ input: fs.createReadStream(filePath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    const location = `${file}:${line}`;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        yield { location, file, line, fields: null, rawText: text, parseError: 'line is not a JSON object' };
      } else {
        yield { location, file, line, fields: parsed as Record<string, unknown>, rawText: text };
      }
    } catch (error) {
      yield { location, file, line, fields: null, rawText: text, parseError: `invalid JSON: ${(error as Error).message}` };
    }
  }
}
