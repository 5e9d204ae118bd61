/**
 * The import rules of the house (run by `npm test` through `npm run check:imports`).
 * The data's journey runs one way: shared <- pipelines (sources, raw, transform) <- semantic <- api
 * <- dashboard, with cli/ the composition root that may import every stage. A stage imports only
 * earlier stages and shared/; nothing imports cli/; there are no circles. The dashboard's browser
 * code imports nothing of the server. Tests and benchmarks may import anything.
 */
const LATER = {
  shared: '^(pipelines|semantic|api|dashboard|cli)/',
  pipelines: '^(semantic|api|dashboard|cli)/',
  semantic: '^(pipelines|api|dashboard|cli)/',
  api: '^(pipelines|dashboard|cli)/',
  dashboard: '^(pipelines|semantic|api|cli)/',
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle means two modules are one concept or one of them reaches back: split or merge them.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(LATER).map(([stage, later]) => ({
      name: `${stage}-imports-only-earlier-stages`,
      severity: 'error',
      comment: `${stage}/ may import only earlier stages and shared/ (order: shared, pipelines, semantic, api, dashboard; cli/ composes them).`,
      from: { path: `^${stage}/` },
      to: { path: later },
    })),
    {
      name: 'dashboard-browser-code-is-self-contained',
      severity: 'error',
      comment: 'dashboard/src runs in the browser: it imports only its own modules and browser packages.',
      from: { path: '^dashboard/src/' },
      to: { dependencyTypes: ['local'], pathNot: '^dashboard/src/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.venv|target|dashboard/dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
