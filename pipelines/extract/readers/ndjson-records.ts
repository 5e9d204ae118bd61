import fs from 'node:fs';
import readline from 'node:readline';
import path from 'node:path';
import type { ReadOptions, SourceRecord } from './source-record.ts';

/** Streams an NDJSON file a line at a time; a line that is not a JSON object is returned with parseError. */
export async function* readNdjsonRecords(filePath: string, relativeTo: string, options: ReadOptions = {}): AsyncGenerator<SourceRecord> {
  const file = options.displayPath ?? path.relative(relativeTo, filePath).split(path.sep).join('/');
  const input = fs.createReadStream(filePath);
  if (options.onBytes) input.on('data', (chunk) => options.onBytes!(chunk as Buffer));
  // readline decodes UTF-8 itself (multi-byte characters split across chunks stay whole).
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const lineText of lines) {
    line += 1;
    const text = line === 1 ? lineText.replace(/^\uFEFF/, '') : lineText;
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
