import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../shared/paths.ts';

/**
 * cube/cube.js: the configuration Cube's own server reads for this model folder. The embedded API
 * reads the same file, so the rules that live there (which claims make a caller's groups, the
 * pre-aggregation schema and time zones) are written once.
 */
export interface CubeConfig {
  contextToGroups(context: { securityContext: Record<string, unknown> }): string[];
  preAggregationsSchema: string;
  scheduledRefreshTimeZones: string[];
}

export const CUBE_CONFIG_PATH = path.join(projectRoot, 'cube', 'cube.js');

export const cubeConfig: CubeConfig = createRequire(import.meta.url)(CUBE_CONFIG_PATH) as CubeConfig;
