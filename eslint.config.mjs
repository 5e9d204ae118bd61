// ESLint for the TypeScript (run by `npm test` through `npm run lint`): the recommended rules of
// ESLint and typescript-eslint. `any` is allowed (Cube's and DuckDB's untyped internals are read
// through it on purpose); a name starting with _ may stay unused (it documents what is skipped).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv/**', 'dashboard/dist/**', 'target/**', '.scratch/**', '**/*.cjs', 'cube/cube.js', 'macros/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
);
