// ESLint flat config. The Nx module-boundary rule keeps the graph honest:
//   apps -> agent (feature) libs -> shared util libs -> contracts; agent libs never import each other;
//   the test helpers (@outpost/testing, type:test) only from spec files and test/.
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** What each kind of project may import (the project's type:* tag). type:test is @outpost/testing. */
const typeConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:util', 'type:contracts'] },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
  { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:test', 'type:util', 'type:contracts'] },
];
/** The same, where a spec file may also import the test helpers. */
const withTestHelpers = typeConstraints.map((c) => ({
  ...c,
  onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:test'])],
}));
/** Which agent's code may import which (scope:* tags): an agent never imports another. */
const scopeConstraints = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:node', onlyDependOnLibsWithTags: ['scope:node', 'scope:shared'] },
  { sourceTag: 'scope:hardware', onlyDependOnLibsWithTags: ['scope:hardware', 'scope:shared'] },
  { sourceTag: 'scope:cluster', onlyDependOnLibsWithTags: ['scope:cluster', 'scope:shared'] },
  { sourceTag: 'scope:update', onlyDependOnLibsWithTags: ['scope:update', 'scope:shared'] },
  { sourceTag: 'scope:telemetry', onlyDependOnLibsWithTags: ['scope:telemetry', 'scope:shared'] },
  {
    sourceTag: 'scope:orchestrator',
    onlyDependOnLibsWithTags: ['scope:orchestrator', 'scope:shared'],
  },
  {
    sourceTag: 'scope:observability',
    onlyDependOnLibsWithTags: ['scope:observability', 'scope:shared'],
  },
  { sourceTag: 'scope:fleet', onlyDependOnLibsWithTags: ['scope:fleet', 'scope:shared'] },
  { sourceTag: 'scope:suite', onlyDependOnLibsWithTags: ['*'] },
  { sourceTag: 'scope:enrolment', onlyDependOnLibsWithTags: ['scope:enrolment', 'scope:shared'] },
  {
    sourceTag: 'scope:ctl',
    onlyDependOnLibsWithTags: ['scope:enrolment', 'scope:shared'],
  },
];
const boundaries = (types) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [...types, ...scopeConstraints],
  },
];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/gen/**', 'coverage/**', '.nx/**', '.cache/**'],
  },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='exit']",
          message: 'Libraries never exit the process; return or throw and let the app decide.',
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(typeConstraints) },
  },
  {
    // Specs and the suites under test/ may use the test helpers; production code never can.
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(withTestHelpers) },
  },
  {
    // Only apps and tools may end the process; libraries report and let the app decide.
    files: ['apps/**/*.ts', 'tools/**/*.{ts,mjs}', 'test/**/*.ts', '**/*.spec.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  prettier,
);
