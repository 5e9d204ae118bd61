import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../api/routes/decision.ts';
import { KNOWN_ROLES, accessControlFor, type AccessContext, type Role } from '../../semantic/access-control.ts';
import { tableScope, type RowPredicate } from '../../semantic/row-scope.ts';
import { loadSemanticModel, type SemanticModel } from '../../semantic/semantic-model.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import { accessDocTable } from '../support/access-doc.ts';

/**
 * The access tables in docs/access.md say what each role and scope reads; this checks them against the
 * model the API enforces (every cube listed, each cell what the policies give), so the table
 * cannot drift from the rules. Behaviour over HTTP is checked in tests/e2e/decision-scopes.test.ts.
 */
const table = accessDocTable;

let model: SemanticModel;
beforeAll(async () => {
  model = await loadSemanticModel(cubeModelDir);
});

function cell(table: string, scope: Partial<AccessContext>): string {
  let rows: RowPredicate | null;
  try {
    rows = tableScope(model, table, { roles: ['analyst'], ...scope } as AccessContext).rows;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 403) return '403';
    throw error;
  }
  if (rows === null) return 'every row';
  const columns = 'and' in rows ? rows.and : [rows];
  return `rows whose ${columns.map((p) => `\`${(p as { column: string }).column}\``).join(' and ')} is listed`;
}

describe('docs/access.md access tables', () => {
  it('list every cube of the model with the rows each scope gives', () => {
    const evaluator = model.compilers.cubeEvaluator as unknown as {
      cubeNames(): string[];
      cubeFromPath(n: string): { isView?: boolean; sqlTable?: () => string };
    };
    const cubes = evaluator
      .cubeNames()
      .filter((n) => !evaluator.cubeFromPath(n).isView)
      .sort();
    const rows = table('cubes');
    expect(rows.map((r) => r[0]!.replace(/`/g, '')).sort()).toEqual(cubes);
    for (const [name, mart, open, brands, regions] of rows) {
      const sqlTable = evaluator.cubeFromPath(name!.replace(/`/g, '')).sqlTable!();
      expect(mart, name).toBe(`\`${sqlTable}\``);
      expect(open, `${name} unscoped`).toBe(cell(sqlTable, {}));
      expect(brands, `${name} brands`).toBe(cell(sqlTable, { brands: ['b'] }));
      expect(regions, `${name} regions`).toBe(cell(sqlTable, { regions: ['r'] }));
    }
  });

  it('give each decision endpoint the roles it enforces', () => {
    const rows = table('api');
    for (const [pathCell, roles] of rows) {
      const routePath = /`GET \/api\/v1(\S+)`/.exec(pathCell!)![1]!;
      const route = ROUTES.find((r) => r.path === routePath);
      expect(route, pathCell).toBeDefined();
      expect(roles, pathCell).toBe((route!.roles as Role[]).join(', '));
    }
    // Every secured endpoint is in the table (exports share their list's row).
    const listed = rows.map(([p]) => /`GET \/api\/v1(\S+)`/.exec(p!)![1]!);
    for (const route of ROUTES.filter((r) => r.roles !== 'public' && !r.path.endsWith('/export'))) expect(listed).toContain(route.path);
  });

  it('say which roles see raw contact points, as the model decides', () => {
    const access = accessControlFor(model);
    const rows = table('contacts');
    expect(rows.map((r) => r[0]!.replace(/`/g, '')).sort()).toEqual([...KNOWN_ROLES].sort());
    for (const [roleCell, what] of rows) {
      const role = roleCell!.replace(/`/g, '') as Role;
      const raw = ['email', 'phone', 'mobile', 'wechat_id', 'qq_id'].every(
        (c) => access.memberAccess(`customer_profiles.${c}`, { roles: [role] }) === 'visible',
      );
      expect(what!.startsWith('raw'), role).toBe(raw);
    }
  });
});
