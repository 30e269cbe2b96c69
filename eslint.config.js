// typescript-eslint over the whole repository (`npm run lint`, part of `npm test`). Formatting is
// Prettier's job (`npm run format:check`), so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'reports/**',
      'bench-results/**',
      'test-results/**',
      'playwright-report/**',
      '.exp/**',
      // Deliberately wrong imports, read by tools/deps/rules.test.ts only.
      'tools/deps/fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // tsc (noUnusedLocals/noUnusedParameters) already reports these, per context.
      '@typescript-eslint/no-unused-vars': 'off',
      // verbatimModuleSyntax needs `import type` for what is erased; `typeof import('x')` is fine.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // A closure that reads the binding before its one late assignment (main.ts) is intended.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Input sanitizers match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests reach into private state and hostile shapes on purpose.
    files: ['**/*.test.ts', '**/*.spec.ts', '**/testing/**', 'e2e/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Playwright fixtures take `({}, use)` when they need no other fixture.
    files: ['e2e/**'],
    rules: { 'no-empty-pattern': 'off' },
  },
  {
    files: ['server/demo-bank/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', 'scripts/**/*.js', '.ci/**/*.js'],
    languageOptions: { globals: globals.node },
  },
);
