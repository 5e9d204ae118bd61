import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FileEncoding } from '../../../shared/source-settings.ts';

/**
 * The gate every dropped file passes before a loader reads it: which text encoding it is in, whether
 * it is text at all, whether it is complete, and (CSV) whether its header splits on the delimiter.
 * A file that cannot be read is rejected as a whole with one reason naming what was tried, so the
 * other files of the source still load and no undecodable byte is ever stored as text. Text in
 * another encoding (GB18030/GBK, UTF-16) is transcoded to a UTF-8 copy that the loaders read; the
 * manifest keeps the original file's checksum.
 */

type DeclaredEncoding = FileEncoding;
type TextEncodingName = Exclude<FileEncoding, 'auto'>;

export interface IntakeOptions {
  format: 'csv' | 'ndjson';
  /** 'auto': a BOM, else UTF-16 by its NUL pattern, else UTF-8 when every byte sequence is valid UTF-8, else GB18030. */
  encoding: DeclaredEncoding;
  /** CSV field delimiter the source declares (default ','). */
  delimiter: string;
  /** A file that does not end with a newline is still being written: leave it for the next run. */
  requireFinalNewline: boolean;
  /** Field names the file's records carry (CSV: a header naming none of them is the wrong file or delimiter). */
  expectedFields: readonly string[];
  /** Match the header's names to expectedFields ignoring case (a mapping's SQL binds column names so). */
  ignoreCase?: boolean;
  /** Where a transcoded UTF-8 copy may be written (created on first use). */
  workDir: () => string;
}

export type IntakeResult =
  | {
      status: 'ready';
      /** The file the loaders read: the original, or its UTF-8 copy. */
      readPath: string;
      encoding: TextEncodingName;
      transcoded: boolean;
      /** SHA-256 of the original bytes (what the manifest keeps). */
      sha256: string;
    }
  | { status: 'rejected'; reason: string; sha256: string; sizeBytes: number; headHex: string }
  | { status: 'deferred'; reason: string };

const CHUNK = 1 << 22;
const SAMPLE = 1 << 16;
export const CANDIDATE_DELIMITERS = [',', ';', '\t', '|'] as const;

/** Bytes at the end of `buf` that begin a UTF-8 sequence the buffer does not complete. */
function incompleteUtf8Tail(buf: Buffer): number {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const byte = buf[buf.length - i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    if (byte < 0xc0) return 0;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return length > i ? i : 0;
  }
  return 0;
}

interface ByteFacts {
  sha256: string;
  sizeBytes: number;
  validUtf8: boolean;
  /** Byte offset of the first invalid UTF-8 sequence's chunk (approximate, for the reason). */
  firstInvalidAt: number | null;
  head: Buffer;
  lastByte: number | null;
}

/** One pass over the bytes: checksum, UTF-8 validity (native, across chunk boundaries), the head and the last byte. */
function readByteFacts(filePath: string): ByteFacts {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(filePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry = Buffer.alloc(0);
  let size = 0;
  let validUtf8 = true;
  let firstInvalidAt: number | null = null;
  let head = Buffer.alloc(0);
  let lastByte: number | null = null;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      if (head.length < SAMPLE) head = Buffer.concat([head, chunk.subarray(0, SAMPLE - head.length)]);
      lastByte = chunk[n - 1]!;
      if (validUtf8) {
        const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        const cut = joined.length - incompleteUtf8Tail(joined);
        if (!isUtf8(joined.subarray(0, cut))) {
          validUtf8 = false;
          firstInvalidAt = size - carry.length;
        }
        carry = Buffer.from(joined.subarray(cut));
      }
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (validUtf8 && carry.length > 0) {
    validUtf8 = false;
    firstInvalidAt = size - carry.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes: size, validUtf8, firstInvalidAt, head, lastByte };
}

function bomEncoding(head: Buffer): TextEncodingName | null {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

/** UTF-16 without a BOM: text in the Latin range has a NUL in every other byte. */
function utf16ByNulPattern(head: Buffer): TextEncodingName | null {
  const pairs = Math.floor(Math.min(head.length, 4096) / 2);
  if (pairs < 4) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) evenNul += 1;
    if (head[2 * i + 1] === 0) oddNul += 1;
  }
  if (oddNul > pairs * 0.3 && evenNul < pairs * 0.05) return 'utf-16le';
  if (evenNul > pairs * 0.3 && oddNul < pairs * 0.05) return 'utf-16be';
  return null;
}

/** Control characters other than tab, CR, LF and form feed: a few in a text export, many in binary data. */
function controlShare(text: string): number {
  if (text.length === 0) return 0;
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0x7f || c === 0xfffd) controls += 1;
  }
  return controls / text.length;
}

/** Decodes with `encoding`, fatally; writes UTF-8 to `target` when given. Returns the first text sample or the error. */
function decodeFile(
  filePath: string,
  encoding: TextEncodingName,
  target: string | null,
): { ok: true; sample: string; lastChar: string } | { ok: false; at: number } {
  const decoder = new TextDecoder(encoding, { fatal: true });
  const fd = fs.openSync(filePath, 'r');
  const out = target ? fs.openSync(target, 'w') : null;
  const buf = Buffer.allocUnsafe(CHUNK);
  let sample = '';
  let lastChar = '';
  let offset = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      let text: string;
      try {
        text = n === 0 ? decoder.decode() : decoder.decode(buf.subarray(0, n), { stream: true });
      } catch {
        return { ok: false, at: offset };
      }
      if (text.length > 0) {
        if (sample.length < SAMPLE) sample += text.slice(0, SAMPLE - sample.length);
        lastChar = text[text.length - 1]!;
        if (out !== null) fs.writeSync(out, text, null, 'utf8');
      }
      if (n === 0) break;
      offset += n;
    }
  } finally {
    fs.closeSync(fd);
    if (out !== null) fs.closeSync(out);
  }
  return { ok: true, sample, lastChar };
}

const hex = (buf: Buffer) => buf.subarray(0, 32).toString('hex');

/** The first non-blank line (the CSV readers skip blank lines before the header too). */
function firstLine(text: string): string {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return (
    body
      .split('\n', 64)
      .find((line) => line.trim() !== '')
      ?.replace(/\r$/, '') ?? ''
  );
}

function headerFields(line: string, delimiter: string): string[] {
  try {
    const rows = parseCsv(line, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][];
    return (rows[0] ?? []).map((name) => name.trim());
  } catch {
    return line.split(delimiter).map((name) => name.trim());
  }
}

const shown = (delimiter: string) => (delimiter === '\t' ? 'tab' : `'${delimiter}'`);

/** Why a CSV header cannot be the header of these records, or null when it can. */
export function headerProblem(line: string, delimiter: string, expected: readonly string[], ignoreCase = false): string | null {
  if (expected.length === 0) return null;
  const fold = (name: string) => (ignoreCase ? name.toLowerCase() : name);
  const wanted = new Set(expected.map(fold));
  const fields = headerFields(line, delimiter);
  if (fields.some((f) => wanted.has(fold(f)))) return null;
  for (const other of CANDIDATE_DELIMITERS) {
    if (other === delimiter) continue;
    const split = headerFields(line, other);
    const known = split.filter((f) => wanted.has(fold(f)));
    if (split.length > 1 && known.length > 0) {
      return (
        `the header splits into ${fields.length} column(s) on ${shown(delimiter)} but into ${split.length} on ${shown(other)} ` +
        `(${known.slice(0, 4).join(', ')}${known.length > 4 ? ', ...' : ''}): the file looks ${shown(other)}-delimited; declare its delimiter in the source's settings`
      );
    }
  }
  return `the header (${fields.slice(0, 6).join(', ')}${fields.length > 6 ? ', ...' : ''}) names none of the expected fields (${expected.slice(0, 6).join(', ')}${expected.length > 6 ? ', ...' : ''}) with delimiter ${shown(delimiter)}: wrong file or wrong delimiter`;
}

export function inspectFile(filePath: string, options: IntakeOptions): IntakeResult {
  const facts = readByteFacts(filePath);
  const reject = (reason: string): IntakeResult => ({
    status: 'rejected',
    reason,
    sha256: facts.sha256,
    sizeBytes: facts.sizeBytes,
    headHex: hex(facts.head),
  });
  if (facts.sizeBytes === 0) return { status: 'ready', readPath: filePath, encoding: 'utf-8', transcoded: false, sha256: facts.sha256 };

  const bom = bomEncoding(facts.head);
  let encoding: TextEncodingName;
  if (options.encoding !== 'auto') encoding = options.encoding;
  else if (bom) encoding = bom;
  // (before UTF-8: UTF-16 of Latin text is valid UTF-8 too, NUL being a valid character)
  else encoding = utf16ByNulPattern(facts.head) ?? (facts.validUtf8 ? 'utf-8' : 'gb18030');
  const tried = options.encoding === 'auto' && !bom && encoding !== 'utf-8' && !facts.validUtf8 ? ['utf-8', encoding] : [encoding];

  let sample: string;
  let lastChar: string;
  let readPath = filePath;
  let transcoded = false;
  if (encoding === 'utf-8') {
    if (!facts.validUtf8)
      return reject(
        `not valid UTF-8 text (first invalid bytes near byte ${(facts.firstInvalidAt ?? 0).toLocaleString('en-US')}); tried ${tried.join(', ')}`,
      );
    sample = facts.head.toString('utf8', 0, facts.head.length - incompleteUtf8Tail(facts.head));
    lastChar = facts.lastByte === 0x0a ? '\n' : '?';
  } else {
    // Probe without writing first, so a binary file leaves no copy behind.
    const probe = decodeFile(filePath, encoding, null);
    if (!probe.ok) {
      const binary = facts.head.includes(0) ? ' (NUL bytes: binary data, not a text export)' : '';
      return reject(
        `not readable as text: tried ${tried.join(', ')}; invalid ${encoding} near byte ${probe.at.toLocaleString('en-US')}${binary}`,
      );
    }
    sample = probe.sample;
    lastChar = probe.lastChar;
  }
  if (controlShare(sample) > 0.01)
    return reject(
      `binary data, not a text export (control characters in the first ${sample.length.toLocaleString('en-US')} characters as ${encoding})`,
    );
  if (options.requireFinalNewline && lastChar !== '\n') {
    return {
      status: 'deferred',
      reason: 'no final newline: the file may still be being written; it is loaded once it ends with a newline',
    };
  }
  if (options.format === 'csv') {
    const problem = headerProblem(firstLine(sample), options.delimiter, options.expectedFields, options.ignoreCase);
    if (problem) return reject(problem);
  }
  if (encoding !== 'utf-8') {
    const target = path.join(options.workDir(), `${facts.sha256.slice(0, 16)}-${path.basename(filePath)}`);
    const copy = decodeFile(filePath, encoding, target);
    if (!copy.ok)
      return reject(`not readable as ${encoding} near byte ${copy.at.toLocaleString('en-US')} (the file changed while it was read?)`);
    readPath = target;
    transcoded = true;
  }
  return { status: 'ready', readPath, encoding, transcoded, sha256: facts.sha256 };
}
