import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../shared/paths.ts';

/**
 * A marker-delimited table of docs/access.md (`<!-- access:<name>:start -->` ... `end -->`) as rows
 * of trimmed cells, header and separator left out. tests/unit/access-table.test.ts checks the
 * tables against the model, tests/e2e/decision-scopes.test.ts against the running API.
 */
export function accessDocTable(name: 'api' | 'cubes' | 'contacts'): string[][] {
  const doc = fs.readFileSync(path.join(projectRoot, 'docs', 'access.md'), 'utf8');
  const match = new RegExp(`<!-- access:${name}:start -->\\n([\\s\\S]*?)\\n<!-- access:${name}:end -->`).exec(doc);
  if (!match) throw new Error(`docs/access.md has no access:${name} table`);
  return match[1]!
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}
