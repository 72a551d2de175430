// A Jest reporter (jest.config.js) that ends a run with its slowest suites: where a slow or loaded
// machine spends the time of `npm test`, and which suite to make cheaper first.
import { relative } from 'node:path';

/** The `count` slowest suites of a run's results, slowest first: path (from rootDir), seconds, failed. */
export function slowestSuites(testResults, rootDir, count = 10) {
  return testResults
    .map((r) => ({
      path: relative(rootDir, r.testFilePath),
      seconds: (r.perfStats.end - r.perfStats.start) / 1000,
      failed: r.numFailingTests > 0 || r.testExecError !== undefined,
    }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, count);
}

export function formatSlowest(suites) {
  const width = Math.max(...suites.map((s) => s.seconds.toFixed(1).length));
  return [
    `Slowest ${suites.length} test suites:`,
    ...suites.map(
      (s) => `  ${s.seconds.toFixed(1).padStart(width)} s  ${s.path}${s.failed ? '  (failed)' : ''}`,
    ),
  ].join('\n');
}

export default class SlowestSuitesReporter {
  constructor(globalConfig, options = {}) {
    this.rootDir = globalConfig.rootDir;
    this.count = options.count ?? 10;
  }

  onRunComplete(_contexts, results) {
    const suites = slowestSuites(results.testResults, this.rootDir, this.count);
    if (suites.length > 1) process.stderr.write(`\n${formatSlowest(suites)}\n`);
  }
}
