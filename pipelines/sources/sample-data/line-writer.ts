import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';

/**
 * Streams lines to a file, honouring back-pressure so memory stays flat however many rows are
 * generated. Writes to a temporary name and renames on close, so a reader never sees half a file.
 */
export class LineWriter {
  private readonly stream: fs.WriteStream;
  private readonly tempPath: string;
  lines = 0;

  constructor(readonly filePath: string) {
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    this.tempPath = `${filePath}.partial`;
    this.stream = fs.createWriteStream(this.tempPath, { encoding: 'utf8', highWaterMark: 1 << 20 });
  }

  async write(line: string): Promise<void> {
    this.lines += 1;
    if (!this.stream.write(line + '\n')) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    fs.renameSync(this.tempPath, this.filePath);
  }
}

/** RFC 4180 quoting: only when the value needs it. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return values.map(csvField).join(',');
}
