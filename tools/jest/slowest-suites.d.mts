// Types for slowest-suites.mjs (the Jest reporter), for its spec.

export interface SuiteResult {
  testFilePath: string;
  perfStats: { start: number; end: number };
  numFailingTests: number;
  testExecError?: unknown;
}

export interface SlowSuite {
  path: string;
  seconds: number;
  failed: boolean;
}

export declare function slowestSuites(
  testResults: readonly SuiteResult[],
  rootDir: string,
  count?: number,
): SlowSuite[];
export declare function formatSlowest(suites: readonly SlowSuite[]): string;

export default class SlowestSuitesReporter {
  constructor(globalConfig: { rootDir: string }, options?: { count?: number });
  onRunComplete(contexts: unknown, results: { testResults: readonly SuiteResult[] }): void;
}
