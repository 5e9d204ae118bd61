import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DefinedRecord } from '../record-schema.ts';
import type { RecordReader, SourceRecord } from '../readers/source-record.ts';
import { readCsvRecords } from '../readers/csv-records.ts';
import { readNdjsonRecords } from '../readers/ndjson-records.ts';
import { inspectFile, type IntakeResult } from './file-intake.ts';
import { DEFAULT_FILE_SOURCE_SETTINGS, type FileSourceSettings } from '../../../shared/source-settings.ts';
import {
  SourceSkippedError,
  SourceUnavailableError,
  type BatchPart,
  type BulkPlan,
  type FileManifestEntry,
  type SourceContext,
  type SourceDefinition,
  type SourceFamily,
} from '../source-contract.ts';

/** Which files in the drop folder feed which raw tables: by file-name prefix, CSV or NDJSON. */
export interface FileDropRule {
  /** File-name prefix, e.g. "orders" matches orders.csv, orders_2025-06.ndjson, orders-part1.csv. */
  prefix?: string;
  /** Or which file names the rule takes (a landing mapping's patterns); the extension still picks the reader. */
  matches?: (fileName: string) => boolean;
  /** Raw tables fed by these files (more than one: the same file read once per table). */
  records: readonly DefinedRecord[];
  /**
   * Load these files through the bulk path (DuckDB reads and validates them, see
   * pipelines/raw/bulk-stage.ts). Only for plain records whose every field has a SQL form; records
   * that need per-record TypeScript work (e.g. sentiment scoring) keep the row path.
   */
  bulk?: boolean;
}

export interface FileDropConfig {
  name: string;
  family: SourceFamily;
  description: string;
  /** Folder under the landing folder the shop drops exports into. */
  folder: string;
  rules: readonly FileDropRule[];
  /** Whether the source may be absent when its settings do not say (a shop with only orders has no service/ folder). */
  optionalByDefault?: boolean;
}

const READERS: Record<string, RecordReader> = { '.csv': readCsvRecords, '.ndjson': readNdjsonRecords, '.jsonl': readNdjsonRecords };

export function matchesRule(fileName: string, rule: FileDropRule): boolean {
  const ext = path.extname(fileName).toLowerCase();
  if (!(ext in READERS)) return false;
  if (rule.matches !== undefined) return rule.matches(fileName);
  if (rule.prefix === undefined) return false;
  const stem = fileName.slice(0, -ext.length);
  // "orders" matches orders.csv and orders_2025.csv, but not order_items.csv or ordersx.csv.
  return stem === rule.prefix || (stem.startsWith(rule.prefix) && /^[._-]/.test(stem.slice(rule.prefix.length)));
}

async function sha256OfFile(filePath: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface PlannedFile {
  absolute: string;
  relative: string;
  sizeBytes: number;
  modifiedAt: string;
  /** Checksum measured before loading (the manifest's check, then the intake's). */
  knownSha?: string;
  /** The file the loaders read (the original, or a UTF-8 copy of a file in another encoding). */
  readPath: string;
  /** Set when the file cannot be read at all: it is quarantined as one record with this reason. */
  rejected?: Extract<IntakeResult, { status: 'rejected' }>;
}

/**
 * A folder of file drops. New files are read once; a file already in the manifest is skipped
 * unless its SHA-256 differs, in which case it is read again in full and the natural-key upsert
 * makes the reload an update, never a second copy. The checksum stored is the one computed while
 * parsing, so a file rewritten during the load fails the batch instead of being half-recorded.
 */
export function fileDropSource(config: FileDropConfig, settings: FileSourceSettings = DEFAULT_FILE_SOURCE_SETTINGS): SourceDefinition {
  const records = [...new Set(config.rules.flatMap((r) => r.records))];
  const optional = settings.optional ?? config.optionalByDefault ?? false;
  return {
    name: config.name,
    family: config.family,
    kind: 'files',
    description: config.description,
    records,
    async open(context: SourceContext) {
      const folder = path.join(context.landingDir, config.folder);
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(folder, { withFileTypes: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && optional) throw new SourceSkippedError(config.name, `optional source absent: no folder ${folder}`);
        if (code === 'ENOENT') throw new SourceUnavailableError(config.name, `landing folder not found: ${folder}`);
        if (code === 'ENOTDIR') throw new SourceUnavailableError(config.name, `landing path is not a folder: ${folder}`);
        throw new SourceUnavailableError(config.name, `cannot read landing folder ${folder}: ${(error as Error).message}`);
      }
      const names = entries
        .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.partial'))
        .map((e) => e.name)
        .sort();
      if (settings.readyMarker !== undefined && !names.includes(settings.readyMarker)) {
        throw new SourceSkippedError(
          config.name,
          `ready marker ${settings.readyMarker} not in ${folder} yet: its files are left for the next run`,
        );
      }
      // With a ready marker the writer has said the export is complete; without one, a missing final newline says it is not.
      const requireFinalNewline = settings.readyMarker === undefined && settings.requireFinalNewline;
      let workDir: string | null = null;
      const intakeNotes: string[] = [];
      const loaded: FileManifestEntry[] = [];
      let skipped = 0;
      const ignored = names.filter((n) => !config.rules.some((rule) => matchesRule(n, rule)));
      const plan = new Map<FileDropRule, PlannedFile[]>();
      for (const rule of config.rules) {
        const files: PlannedFile[] = [];
        for (const name of names.filter((n) => matchesRule(n, rule))) {
          const absolute = path.join(folder, name);
          const relative = path.relative(context.landingDir, absolute).split(path.sep).join('/');
          const stat = fs.statSync(absolute);
          const file: PlannedFile = { absolute, relative, sizeBytes: stat.size, modifiedAt: stat.mtime.toISOString(), readPath: absolute };
          const previous = context.state.files.get(relative);
          if (previous && previous.sizeBytes === stat.size) {
            // Same size: only the checksum can tell (mtime alone is not trusted either way).
            file.knownSha = await sha256OfFile(absolute);
            if (file.knownSha === previous.sha256) {
              skipped += 1;
              continue;
            }
          }
          const intake = inspectFile(absolute, {
            format: path.extname(name).toLowerCase() === '.csv' ? 'csv' : 'ndjson',
            encoding: settings.encoding,
            delimiter: settings.delimiter,
            requireFinalNewline,
            expectedFields: [...new Set(rule.records.flatMap((r) => Object.keys(r.fields)))],
            workDir: () => (workDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'crm-intake-'))),
          });
          if (intake.status === 'deferred') {
            intakeNotes.push(`left for the next run: ${relative} (${intake.reason})`);
            continue;
          }
          file.knownSha = intake.sha256;
          if (intake.status === 'rejected') {
            file.rejected = intake;
            intakeNotes.push(`rejected as a whole: ${relative}: ${intake.reason}`);
          } else if (intake.transcoded) {
            file.readPath = intake.readPath;
            intakeNotes.push(`${relative} read as ${intake.encoding} (transcoded to UTF-8)`);
          }
          files.push(file);
        }
        plan.set(rule, files);
      }

      const rejectedFiles = () => [...plan.values()].flat().filter((f) => f.rejected !== undefined).length;
      const manifestDone = new Set<string>();
      const parts: BatchPart[] = [];
      for (const rule of config.rules) {
        const files = plan.get(rule)!;
        rule.records.forEach((record, index) => {
          // Only the first table a file feeds records it in the manifest (the others re-read it).
          const manifest = index === 0 ? loaded : null;
          const read = {
            landingDir: context.landingDir,
            manifest,
            done: manifestDone,
            delimiter: settings.delimiter,
            reportRejected: index === 0,
          };
          const part: BatchPart = { record, records: readFiles(files, read) };
          if (rule.bulk) part.bulk = bulkPlan(files, read);
          parts.push(part);
        });
      }
      return {
        parts,
        finish: () => ({ files: loaded }),
        close: async () => {
          if (workDir !== null) fs.rmSync(workDir, { recursive: true, force: true });
        },
        notes: () => [
          `${loaded.length - rejectedFiles()} file(s) loaded${rejectedFiles() > 0 ? `, ${rejectedFiles()} rejected as a whole` : ''}${skipped > 0 ? `, ${skipped} unchanged file(s) skipped` : ''}`,
          ...intakeNotes,
          ...(ignored.length > 0 ? [`ignored (no rule matches): ${ignored.join(', ')}`] : []),
        ],
      };
    },
  };
}

interface ReadContext {
  landingDir: string;
  /** Where loaded files are recorded (null: another table's part records this file). */
  manifest: FileManifestEntry[] | null;
  done: Set<string>;
  delimiter: string;
  /** The part that quarantines a rejected file (the first table the file feeds; the others skip it). */
  reportRejected: boolean;
}

function record(file: PlannedFile, read: ReadContext, sha256: string, records: number): void {
  if (read.manifest && !read.done.has(file.relative)) {
    read.done.add(file.relative);
    read.manifest.push({ path: file.relative, sha256, sizeBytes: file.sizeBytes, modifiedAt: file.modifiedAt, records });
  }
}

/** A file that cannot be read, as the one record the quarantine keeps: its bytes are described, never decoded. */
function rejectedFileRecord(file: PlannedFile): SourceRecord {
  const rejected = file.rejected!;
  return {
    location: file.relative,
    file: file.relative,
    line: 0,
    fields: null,
    rawText: `(file not loaded: ${rejected.sizeBytes} bytes, sha256 ${rejected.sha256}, first bytes hex ${rejected.headHex})`,
    parseError: `file rejected: ${rejected.reason}`,
  };
}

async function* readFiles(files: PlannedFile[], read: ReadContext): AsyncGenerator<SourceRecord> {
  for (const file of files) {
    if (file.rejected) {
      if (read.reportRejected) yield rejectedFileRecord(file);
      record(file, read, file.rejected.sha256, 0);
      continue;
    }
    const reader = READERS[path.extname(file.absolute).toLowerCase()]!;
    // The checksum is the original file's; a transcoded copy is checked against the intake's reading instead.
    const hash = file.readPath === file.absolute ? crypto.createHash('sha256') : null;
    let count = 0;
    const options = {
      displayPath: file.relative,
      delimiter: read.delimiter,
      ...(hash ? { onBytes: (chunk: Buffer) => hash.update(chunk) } : {}),
    };
    for await (const item of reader(file.readPath, read.landingDir, options)) {
      count += 1;
      yield item;
    }
    const sha256 = hash ? hash.digest('hex') : file.knownSha!;
    if (file.knownSha !== undefined && file.knownSha !== sha256) {
      throw new Error(`${file.relative} changed while it was being loaded; the batch is rolled back, re-run when the file is complete`);
    }
    record(file, read, sha256, count);
  }
}

function bulkPlan(files: PlannedFile[], read: ReadContext): BulkPlan {
  const planned = new Map<string, PlannedFile>(files.map((f) => [f.relative, f]));
  return {
    files: files.map((f) => ({
      absolute: f.readPath,
      relative: f.relative,
      format: path.extname(f.absolute).toLowerCase() === '.csv' ? 'csv' : 'ndjson',
      // The bulk scan checksums what it reads: a transcoded copy is not the original, so no comparison.
      ...(f.knownSha !== undefined && f.readPath === f.absolute ? { knownSha: f.knownSha } : {}),
      ...(f.rejected !== undefined || read.delimiter !== ',' ? { rowOnly: true } : {}),
    })),
    rowRecords: (file) => readFiles([planned.get(file.relative)!], read),
    loaded(file, sha256, records) {
      const f = planned.get(file.relative)!;
      record(f, read, f.readPath === f.absolute ? sha256 : f.knownSha!, records);
    },
  };
}
