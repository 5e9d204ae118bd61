import type { DuckDBDataChunk } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { DefinedRecord } from './record-schema.ts';
import type { SourceRecord } from './readers/source-record.ts';

/**
 * The contract every source implements, whatever the transport (a folder of file drops, a
 * PostgreSQL query, an HTTP API, a feed). A source reads its persisted state, yields records with
 * their locations for each raw table it feeds, and hands back the state to persist; the loader
 * commits records, quarantine rows, the load-log row and that state in ONE DuckDB transaction.
 * See docs/contracts/raw.md for the prose version other stages read.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type SourceKind = 'files' | 'postgres' | 'http' | 'feed';
export type SourceFamily = 'orders' | 'service' | 'opinion' | 'profiles';

/** One file a file-drop source has loaded, with the checksum it had then. */
export interface FileManifestEntry {
  /** Path relative to the landing folder, '/'-separated. */
  path: string;
  sha256: string;
  sizeBytes: number;
  modifiedAt: string;
  /** Records read from the file when it was loaded (valid + rejected). */
  records: number;
}

/** What the warehouse holds for a source before this batch: its last committed state. */
export interface SourceState {
  /** Source-specific JSON (watermarks, cursors); null before the first committed batch. */
  cursor: JsonValue | null;
  /** Files already loaded, by relative path (file-drop sources only; empty otherwise). */
  files: ReadonlyMap<string, FileManifestEntry>;
  batchId: string | null;
  updatedAt: string | null;
}

/** The state a batch commits. `cursor` undefined keeps the old cursor; `files` are upserted. */
export interface StateUpdate {
  cursor?: JsonValue | null;
  files?: FileManifestEntry[];
}

/** One raw table's share of a batch: its record definition and the records read for it. */
export interface BatchPart {
  record: DefinedRecord;
  records: AsyncIterable<SourceRecord>;
  /**
   * Optional bulk path for plain CSV/NDJSON files (see pipelines/raw/bulk-stage.ts): the loader
   * reads and validates them inside DuckDB instead of iterating `records`. Opt-in per file-drop rule.
   */
  bulk?: BulkPlan;
  /**
   * Rows the source has already validated in SQL in a DuckDB of its own (a mapped source's): the
   * loader appends them to the stage and the quarantine as DuckDB data chunks, without a
   * JavaScript object per row. `records` then yields only what is not among them (files rejected as
   * a whole, lines that could not be split into columns).
   */
  checked?: CheckedRows;
}

/** Checked rows, in load order (file, then line), as data chunks. */
export interface CheckedRows {
  /** Where the source keeps them (for its own bookkeeping). */
  table: string;
  /**
   * Every checked row in the stage table's columns: the record's fields in their raw types (NULL for a
   * rejected row), `_source_file`, `_source_line`, `_reason` (NULL when valid), `_record_key` and
   * `_payload` of a rejected row, and a NULL `_drift`. A rejected row's `_payload` is what rawText
   * turns into its raw text; the loader moves rejected rows to the quarantine stage.
   */
  rows(): AsyncIterable<DuckDBDataChunk>;
  /** The raw text of one file's rejected rows (line and `_payload` each), by line. */
  rawText(file: string, rejected: { line: number; payload: string | null }[]): Promise<Map<number, string>>;
  /** Schema drift of those rows: fields the source mapped that the record lacks, and the reverse. */
  unknownFields: Record<string, number>;
  missingFields: Record<string, number>;
}

/** A file the loader may read with DuckDB's own reader. */
export interface BulkFile {
  absolute: string;
  /** Path relative to the landing folder, '/'-separated (lineage and quarantine locations). */
  relative: string;
  format: 'csv' | 'ndjson';
  /** Checksum measured before loading; a change while loading fails the batch. */
  knownSha?: string;
  /** Read with the row path only (a declared delimiter, or a file rejected as a whole). */
  rowOnly?: boolean;
}

export interface BulkPlan {
  files: BulkFile[];
  /** The row path for one file, used when the bulk path declines it (a shape it does not handle). */
  rowRecords(file: BulkFile): AsyncIterable<SourceRecord>;
  /** Called once a file is staged in bulk: its checksum and how many records it held. */
  loaded(file: BulkFile, sha256: string, records: number): void;
}

export interface SourceContext {
  landingDir: string;
  state: SourceState;
  batchId: string;
  log?: Logger;
}

/** A source opened for one batch. */
export interface SourceBatch {
  /** Read in order, each to the end, inside the load transaction. */
  parts: BatchPart[];
  /** Called after every part was read, before COMMIT: the state to commit with the batch. */
  finish(): StateUpdate | Promise<StateUpdate>;
  /** Releases connections; called after commit or rollback. */
  close(): Promise<void>;
  /** Short notes for the run summary (e.g. "2 files unchanged, skipped"). */
  notes?: () => string[];
  /**
   * After this batch committed: true when the source stopped early on purpose (e.g. after N pages)
   * and wants another batch opened from the state just committed. Each batch is atomic on its own,
   * so a failure later resumes from the last committed one.
   */
  hasMore?: () => boolean;
}

export interface SourceDefinition {
  name: string;
  family: SourceFamily;
  kind: SourceKind;
  description: string;
  /** Every raw table the source may write (created before the batch starts). */
  records: readonly DefinedRecord[];
  /**
   * Checks the source is reachable and configured, then returns the batch. Must throw
   * SourceUnavailableError (one line naming the source and the cause) before any write.
   */
  open(context: SourceContext): Promise<SourceBatch>;
}

/** A source that cannot be reached or is misconfigured: one line naming the source and cause. */
export class SourceUnavailableError extends Error {
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super(`${source}: ${reason.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'SourceUnavailableError';
  }
}

/**
 * An optional source with nothing to read this run (its folder is absent, or its ready marker is not
 * there yet): the step is skipped and reported, nothing is committed, and the run goes on.
 */
export class SourceSkippedError extends Error {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
    this.name = 'SourceSkippedError';
  }
}

export const EMPTY_STATE: SourceState = { cursor: null, files: new Map(), batchId: null, updatedAt: null };
