/**
 * Prints one plain closing line, "jest: N passed, N failed, N skipped", which CI reads to know how
 * many tests ran (jest's own summary is not a format it recognises).
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

/** Where the line is left for the global teardown, which prints it again as the run's very last line. */
const SUMMARY_FILE = join(__dirname, '..', '.tmp', 'summary.txt');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`;
    mkdirSync(join(SUMMARY_FILE, '..'), { recursive: true });
    writeFileSync(SUMMARY_FILE, line);
    process.stdout.write(`\n${line}\n`);
  }
}

SummaryReporter.SUMMARY_FILE = SUMMARY_FILE;

module.exports = SummaryReporter;
