import fs from 'node:fs';
import type { PipelineStep } from '../run/steps.ts';
import type { KeptVersion } from './versions.ts';

/**
 * Rollback as a run: the run's private build is replaced by a copy of a kept version, and the
 * usual publish (checkpoint, ledger mirror, atomic rename, the outgoing version kept) makes it the
 * published one. So a rollback is locked, recorded in the ledger, and as crash-safe as any run;
 * the version's marts and pre-aggregations were built together, so they still agree.
 */
export function restoreVersionStep(version: KeptVersion): PipelineStep {
  return {
    id: 'restore-version',
    kind: 'restore',
    title: `restore ${version.name}`,
    onFailure: 'fatal',
    async run(context) {
      if (!fs.existsSync(version.path)) throw new Error(`version ${version.name} is no longer kept (${version.path} is missing)`);
      fs.rmSync(`${context.warehousePath}.wal`, { force: true });
      // Copy, not rename: the kept version stays available for another rollback.
      fs.copyFileSync(version.path, context.warehousePath);
      return { detail: { restored: version.name, builtBy: version.builtBy, replacedBy: version.replacedBy }, rowsOut: null };
    },
  };
}
