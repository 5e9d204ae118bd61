import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_SETTINGS, renderEnvExample } from '../../shared/env.ts';
import { projectRoot } from '../../shared/paths.ts';

/** Source files of the application (tests, benchmarks and generated files aside). */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist', '__pycache__'].includes(entry.name) ? [] : sourceFiles(relative);
    return /\.(ts|py|js|yml)$/.test(entry.name) ? [relative] : [];
  });
}

const FILES = ['api', 'semantic', 'pipelines', 'cli', 'shared', 'dashboard', 'cube']
  .flatMap(sourceFiles)
  .concat(['profiles.yml', 'dbt_project.yml']);

describe('CRM_* environment variables', () => {
  it('every one the code names is listed in shared/env.ts', () => {
    expect(FILES.length).toBeGreaterThan(100);
    const named = new Set(
      FILES.flatMap((file) => fs.readFileSync(path.join(projectRoot, file), 'utf8').match(/\bCRM_[A-Z][A-Z0-9_]*/g) ?? []),
    );
    expect(named.size).toBeGreaterThan(25);
    expect([...named].filter((name) => !(name in ENV_SETTINGS)).sort()).toEqual([]);
  });

  it('only shared/env.ts reads them from process.env', () => {
    const direct = /process\.env\.CRM_|process\.env\[\s*['"]CRM_|\benv\.CRM_[A-Z]/;
    const readers = FILES.filter(
      (file) =>
        file.endsWith('.ts') &&
        file !== path.join('shared', 'env.ts') &&
        direct.test(fs.readFileSync(path.join(projectRoot, file), 'utf8')),
    );
    expect(readers).toEqual([]);
  });

  it('.env.example is shared/env.ts rendered', () => {
    const example = fs.readFileSync(path.join(projectRoot, '.env.example'), 'utf8');
    expect(example).toBe(renderEnvExample());
    expect(example).toContain('# CRM_PSEUDONYM_KEY=');
    expect(example).not.toContain('CRM_ALERT_KIND');
  });
});
