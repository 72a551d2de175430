// Jest runs every *.spec.ts as native ESM (node --experimental-vm-modules), transformed by swc.
// Workspace libs resolve to their TypeScript sources through the "@outpost/source" export condition.
const swc = {
  jsc: {
    target: 'es2024',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@outpost/source', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/{apps,libs,tools,test}/**/*.spec.ts'],
  // The boot test (test/boot: QEMU under software emulation, ~10+ min, root) runs on its own with
  // `npm run test:boot`, which sets OUTPOST_BOOT_TEST=1.
  // The image builder's cache holds a bundle (package.json files of every app): not modules of this tree.
  modulePathIgnorePatterns: ['<rootDir>/.cache/'],
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    ...(process.env.OUTPOST_BOOT_TEST ? [] : ['/test/boot/']),
  ],
  // Tests and hooks (a beforeAll that starts servers and suites) on a loaded 2-core machine: waits inside
  // them are on readiness (eventually(), READY_TIMEOUT_MS), so this bound only ends a test that hangs.
  testTimeout: 300_000,
  // The ten slowest suites at the end of every run.
  reporters: ['default', '<rootDir>/tools/jest/slowest-suites.mjs'],
  maxWorkers: 2,
};
