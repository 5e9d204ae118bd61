import fs from 'node:fs';
import path from 'node:path';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import { buildPath, type WarehouseLayout } from './layout.ts';

/**
 * A run's private copy of the warehouse. The published file is never written in place: a run
 * copies it (or starts empty), every step writes the copy, and only a run whose steps all passed
 * renames it into place. rename(2) is atomic, so a reader sees the old file or the new one, never
 * a mix; one that already has the old file open keeps reading it until it lets go.
 */
export async function prepareBuild(layout: WarehouseLayout, runId: string): Promise<string> {
  const target = buildPath(layout, runId);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { force: true });
  fs.rmSync(`${target}.wal`, { force: true });
  if (fs.existsSync(layout.published)) {
    // The published file is complete and checkpointed (publish guarantees it), and nobody writes
    // it in place, so a plain copy is a consistent snapshot even while the API reads it.
    fs.copyFileSync(layout.published, target);
  }
  return target;
}

export interface PublishedVersion {
  runId: string;
  path: string;
  /** The version it replaced, kept under <stem>.versions/ (null on first publish or retention 0). */
  previous: string | null;
}

/**
 * Makes a finished build the published version: checkpoint (so the file alone holds every
 * commit and no .wal is needed), keep a hard link to the outgoing version, then rename into place.
 */
export async function publishBuild(layout: WarehouseLayout, runId: string, build: string, retention: number): Promise<PublishedVersion> {
  const warehouse = await openWarehouse(build);
  try {
    await warehouse.connection.run('CHECKPOINT');
  } finally {
    warehouse.close();
  }
  if (fs.existsSync(`${build}.wal`)) throw new Error(`build ${build} still has a write-ahead log after CHECKPOINT; not publishing it`);
  let previous: string | null = null;
  if (retention > 0 && fs.existsSync(layout.published)) {
    fs.mkdirSync(layout.versionsDir, { recursive: true });
    previous = path.join(layout.versionsDir, `replaced-by-${runId}.duckdb`);
    fs.rmSync(previous, { force: true });
    fs.linkSync(layout.published, previous); // same inode: costs no space, survives the rename
  }
  fs.mkdirSync(path.dirname(layout.published), { recursive: true });
  // Nobody writes the published file in place, so it has no WAL; one left by an older layout must
  // never be replayed onto the new file, so it goes before the rename.
  fs.rmSync(`${layout.published}.wal`, { force: true });
  fs.renameSync(build, layout.published);
  removeRunFolder(layout, build);
  return { runId, path: layout.published, previous };
}

/** Discards a build (failed run); the published version is untouched. */
export function discardBuild(build: string, layout?: WarehouseLayout): void {
  fs.rmSync(build, { force: true });
  fs.rmSync(`${build}.wal`, { force: true });
  fs.rmSync(`${build}.tmp`, { recursive: true, force: true });
  if (layout) removeRunFolder(layout, build);
}

/** The build's own folder under <stem>.builds (never anything else). */
function removeRunFolder(layout: WarehouseLayout, build: string): void {
  const folder = path.dirname(build);
  if (path.dirname(folder) === layout.buildsDir) fs.rmSync(folder, { recursive: true, force: true });
}

/**
 * Retention: keeps the newest `retention` previous versions, and removes builds left by runs that
 * died (called while holding the run lock, so no build in the folder belongs to a live run).
 */
export function cleanUp(
  layout: WarehouseLayout,
  retention: number,
  keepBuild?: string,
): { versionsRemoved: string[]; buildsRemoved: string[] } {
  const versionsRemoved: string[] = [];
  const buildsRemoved: string[] = [];
  if (fs.existsSync(layout.versionsDir)) {
    const versions = fs
      .readdirSync(layout.versionsDir)
      .filter((f) => f.endsWith('.duckdb'))
      .map((f) => ({ file: path.join(layout.versionsDir, f) }))
      // Names carry the replacing run's id, which starts with its UTC start time: newest first.
      .sort((a, b) => b.file.localeCompare(a.file));
    for (const old of versions.slice(retention)) {
      fs.rmSync(old.file, { force: true });
      versionsRemoved.push(old.file);
    }
  }
  if (fs.existsSync(layout.buildsDir)) {
    for (const entry of fs.readdirSync(layout.buildsDir)) {
      const file = path.join(layout.buildsDir, entry);
      if (keepBuild && (file === keepBuild || file.startsWith(`${keepBuild}.`) || keepBuild.startsWith(`${file}${path.sep}`))) continue;
      fs.rmSync(file, { recursive: true, force: true });
      buildsRemoved.push(file);
    }
  }
  return { versionsRemoved, buildsRemoved };
}

export interface KeptVersion {
  /** File name under <stem>.versions/, e.g. replaced-by-20261123T093945778-006d39.duckdb. */
  name: string;
  path: string;
  /** The run whose publish replaced this version. */
  replacedBy: string;
  /**
   * The run that published this version and its command (run, rollback, ...): the newest run in
   * the version's ops.pipeline_runs, which publish mirrors while that run is still finishing.
   */
  builtBy: string | null;
  builtByCommand: string | null;
  builtAt: string | null;
  bytes: number;
}

/** Previous published versions kept for rollback, newest first. */
export async function listVersions(layout: WarehouseLayout): Promise<KeptVersion[]> {
  if (!fs.existsSync(layout.versionsDir)) return [];
  const names = fs
    .readdirSync(layout.versionsDir)
    .filter((f) => f.endsWith('.duckdb'))
    .sort((a, b) => b.localeCompare(a));
  const versions: KeptVersion[] = [];
  for (const name of names) {
    const file = path.join(layout.versionsDir, name);
    let builtBy: string | null = null;
    let builtByCommand: string | null = null;
    let builtAt: string | null = null;
    try {
      const warehouse = await openWarehouse(file, { readOnly: true });
      try {
        const rows = (
          await warehouse.connection.runAndReadAll(`select run_id, command, cast(started_at as varchar) as started_at
            from ops.pipeline_runs order by started_at desc limit 1`)
        ).getRowObjectsJS() as { run_id: string; command: string; started_at: string }[];
        builtBy = rows[0]?.run_id ?? null;
        builtByCommand = rows[0]?.command ?? null;
        builtAt = rows[0]?.started_at ?? null;
      } finally {
        warehouse.close();
      }
    } catch {
      // A version without the ledger mirror (older layout) is still a valid rollback target.
    }
    versions.push({
      name,
      path: file,
      replacedBy: name.replace(/^replaced-by-/, '').replace(/\.duckdb$/, ''),
      builtBy,
      builtByCommand,
      builtAt,
      bytes: fs.statSync(file).size,
    });
  }
  return versions;
}
