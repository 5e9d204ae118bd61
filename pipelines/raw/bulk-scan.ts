import crypto from 'node:crypto';
import fs from 'node:fs';

/**
 * Node's side of the bulk path: one read of each file for the SHA-256 the manifest keeps and for
 * line numbers as the row path reports them (csv-parse / readline count every line, DuckDB's reader
 * returns records in file order). The scans only record where line and record ordinal drift apart
 * (`events`), so memory does not grow with the file.
 */

const CHUNK = 1 << 20;
const PROGRESS_EVERY = 50_000;

/** The scanner cannot vouch for the file's shape (the bulk path declines it; the row path loads it). */
export class ScanDeclined extends Error {}

/**
 * The usual export (no double quote, no CR anywhere): every non-empty line is one record, so the
 * scan is native byte searches (Buffer.indexOf) rather than a byte loop. Column counts are not
 * checked here: DuckDB's strict reader drops a record with the wrong count, and the caller compares
 * DuckDB's record count with this one (a difference means broken records: the exact scan finds
 * them). Returns null for a file with a quote or a CR, or blank lines before the header: the exact
 * scan numbers those.
 */
export async function scanCsvFast(filePath: string, onRecords: (scanned: number) => void, delimiter = ','): Promise<CsvScan | null> {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK * 4);
  let line = 1;
  let lineBytes = 0;
  let ordinal = 0;
  let lastDelta = Number.NaN;
  let headerParts: Buffer[] | null = [];
  let header: string[] | null = null;
  const events: [number, number][] = [];
  let first = true;
  const endLine = () => {
    if (lineBytes === 0) return; // blank line: skipped, still counted as a line
    if (header === null) {
      header = parseHeader(Buffer.concat(headerParts!), delimiter);
      headerParts = null;
      return;
    }
    ordinal += 1;
    if (ordinal % PROGRESS_EVERY === 0) onRecords(ordinal);
    if (line - ordinal !== lastDelta) {
      lastDelta = line - ordinal;
      events.push([ordinal, lastDelta]);
    }
  };
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (chunk.indexOf(34) !== -1 || chunk.indexOf(13) !== -1) return null;
      let pos = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
      }
      while (pos < n) {
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? n : nl;
        if (headerParts !== null && end > pos) headerParts.push(Buffer.from(chunk.subarray(pos, end)));
        lineBytes += end - pos;
        if (nl === -1) break;
        if (header === null && lineBytes === 0) return null; // a blank line before the header
        endLine();
        line += 1;
        lineBytes = 0;
        pos = nl + 1;
      }
    }
    endLine();
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), header: header ?? [], records: ordinal, broken: [], events };
}

export interface CsvScan {
  sha256: string;
  header: string[];
  /** Structurally valid data records (what DuckDB should return after the header). */
  records: number;
  /** Records with the wrong number of columns: quarantined with the row path's reason. */
  broken: { line: number; text: string; found: number }[];
  /** (ordinal, line - ordinal) whenever that difference changes: maps DuckDB's row order to lines. */
  events: [number, number][];
}

/**
 * One pass over the bytes: SHA-256, and a quote-aware record scanner that knows where each record
 * ends (the line csv-parse reports) and how many columns it has. It mirrors csv-parse's defaults
 * (comma, double quote, "" escape, CRLF or LF; another one-byte delimiter for mapped sources);
 * anything it is unsure about declines the file.
 */
export async function scanCsvExact(filePath: string, onRecords: (scanned: number) => void, delimiter = ','): Promise<CsvScan> {
  const delim = delimiterByte(delimiter);
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let header: string[] | null = null;
  let expected = 0;
  let line = 1;
  let cols = 1;
  let recordBytes = 0;
  let fieldStart = true;
  let inQuotes = false;
  let quotePending = false; // saw " inside quotes: closing quote or the first of ""
  let afterClose = false;
  let pendingCr = false;
  let carry: Buffer[] = [];
  let recordStart = 0;
  let ordinal = 0;
  let lastDelta = Number.NaN;
  let first = true;
  const broken: CsvScan['broken'] = [];
  const events: CsvScan['events'] = [];
  let headerText: Buffer | null = null;

  const endRecord = (chunk: Buffer, end: number) => {
    if (recordBytes === 0) return; // blank line: skipped, still counted as a line
    if (header === null || cols !== expected) {
      const text = Buffer.concat([...carry, chunk.subarray(recordStart, end)]);
      if (header === null) {
        headerText = text;
        header = [];
        expected = cols;
      } else {
        broken.push({ line, text: stripCr(text).toString('utf8'), found: cols });
      }
      return;
    }
    ordinal += 1;
    if (ordinal % PROGRESS_EVERY === 0) onRecords(ordinal);
    if (line - ordinal !== lastDelta) {
      lastDelta = line - ordinal;
      events.push([ordinal, lastDelta]);
    }
  };

  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      let i = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      }
      recordStart = i;
      carry = carry.length > 0 ? carry : [];
      for (; i < n; i++) {
        const b = chunk[i]!;
        if (pendingCr) {
          pendingCr = false;
          if (b !== 10) throw new ScanDeclined('bare CR');
        }
        if (inQuotes) {
          if (quotePending) {
            quotePending = false;
            if (b === 34) {
              recordBytes++;
              continue; // "" inside quotes
            }
            inQuotes = false;
            afterClose = true;
            // fall through: b is the byte after the closing quote
          } else {
            recordBytes++;
            if (b === 34) quotePending = true;
            else if (b === 10) line++;
            continue;
          }
        }
        if (b === delim) {
          cols++;
          recordBytes++;
          fieldStart = true;
          afterClose = false;
        } else if (b === 10) {
          endRecord(chunk, i);
          line++;
          cols = 1;
          recordBytes = 0;
          fieldStart = true;
          afterClose = false;
          carry = [];
          recordStart = i + 1;
        } else if (b === 13) {
          pendingCr = true;
        } else if (afterClose) {
          throw new ScanDeclined('text after a closing quote');
        } else if (b === 34) {
          if (!fieldStart) throw new ScanDeclined('quote inside an unquoted field');
          inQuotes = true;
          recordBytes++;
          fieldStart = false;
        } else {
          recordBytes++;
          fieldStart = false;
        }
      }
      if (recordStart < n) carry.push(Buffer.from(chunk.subarray(recordStart, n)));
    }
    if (quotePending) {
      inQuotes = false;
      afterClose = true;
    }
    if (inQuotes) throw new ScanDeclined('unterminated quote');
    endRecord(Buffer.alloc(0), 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header === null || headerText === null) return { sha256: hash.digest('hex'), header: [], records: 0, broken, events };
  return { sha256: hash.digest('hex'), header: parseHeader(headerText, delimiter), records: ordinal, broken, events };
}

/** The header on the file's first line, or null (empty file, blank first line, or a header with a quoted line break). */
export function quickHeader(filePath: string, delimiter = ','): string[] | null {
  const fd = fs.openSync(filePath, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf
      .subarray(0, n)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    // Blank lines before the header: DuckDB's header option would skip one of them instead.
    if (/^\r?\n/.test(text)) return null;
    const end = text.indexOf('\n');
    if (end === -1) return null;
    const line = text.slice(0, end);
    if ((line.match(/"/g) ?? []).length % 2 !== 0) return null;
    return parseHeader(Buffer.from(line), delimiter);
  } finally {
    fs.closeSync(fd);
  }
}

/** The delimiter as the one byte the exact scan compares (an ASCII character other than a quote or a line end). */
function delimiterByte(delimiter: string): number {
  const code = delimiter.charCodeAt(0);
  if (delimiter.length !== 1 || code > 127 || code === 34 || code === 10 || code === 13)
    throw new ScanDeclined(`delimiter ${JSON.stringify(delimiter)}`);
  return code;
}

function stripCr(text: Buffer): Buffer {
  return text.length > 0 && text[text.length - 1] === 13 ? text.subarray(0, text.length - 1) : text;
}

/** The header record's names, trimmed as the row path trims them. */
export function parseHeader(text: Buffer, delimiter = ','): string[] {
  const names: string[] = [];
  const s = stripCr(text).toString('utf8');
  let current = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      names.push(current.trim());
      current = '';
    } else current += c;
  }
  names.push(current.trim());
  return names;
}

/** The text of lines first..line (LF-separated, terminators and a trailing CR removed) for each wanted record. */
export async function readLines(filePath: string, wanted: { line: number; first: number }[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const byFirst = [...wanted].sort((a, b) => a.first - b.first);
  let next = 0;
  let line = 1;
  let current: Buffer[] | null = null;
  let target: { line: number; first: number } | null = null;
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let firstChunk = true;
  try {
    outer: for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let pos = 0;
      if (firstChunk) {
        firstChunk = false;
        if (n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      }
      while (pos < n) {
        if (target === null && next < byFirst.length && byFirst[next]!.first === line) {
          target = byFirst[next++]!;
          current = [];
        }
        const nl = buf.indexOf(10, pos);
        const end = nl === -1 || nl >= n ? n : nl;
        if (current) current.push(Buffer.from(buf.subarray(pos, end)));
        if (end === n && (nl === -1 || nl >= n)) {
          pos = n;
          break;
        }
        if (current && target && line === target.line) {
          out.set(target.line, joinLines(current));
          current = null;
          target = null;
          if (next >= byFirst.length) break outer;
        } else if (current) current.push(Buffer.from('\n'));
        line++;
        pos = end + 1;
      }
    }
    if (current && target) out.set(target.line, joinLines(current));
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function joinLines(parts: Buffer[]): string {
  return stripCr(Buffer.concat(parts)).toString('utf8');
}

/** SHA-256 and the empty lines (which DuckDB's line reader skips): maps row order to line numbers. */
export async function scanNdjson(
  filePath: string,
  onRecords: (scanned: number) => void,
): Promise<{ sha256: string; rows: number; events: [number, number][] }> {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let line = 1;
  let lineBytes = 0; // bytes on the current line other than a CR
  let rows = 0;
  let lastDelta = Number.NaN;
  const events: [number, number][] = [];
  let first = true;
  const endLine = () => {
    if (lineBytes > 0) {
      if (line - rows !== lastDelta) {
        lastDelta = line - rows;
        events.push([rows, lastDelta]);
      }
      rows += 1;
      if (rows % PROGRESS_EVERY === 0) onRecords(rows);
    }
  };
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      let pos = 0;
      if (first) {
        first = false;
        if (n >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
      }
      while (pos < n) {
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? n : nl;
        let bytes = end - pos;
        if (bytes > 0 && chunk[end - 1] === 13 && nl !== -1) bytes -= 1;
        lineBytes += bytes;
        if (nl === -1) break;
        // A CR at the end of the previous chunk was counted; only a lone CR line is "empty".
        endLine();
        line += 1;
        lineBytes = 0;
        pos = nl + 1;
      }
    }
    endLine();
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), rows, events };
}
