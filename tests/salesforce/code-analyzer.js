#!/usr/bin/env node
// Salesforce Code Analyzer (its core, PMD and ESLint engines from npm; PMD runs on the machine's
// JRE) over every package: PMD's Apex rules on classes and triggers, its XML rules on metadata,
// ESLint's recommended rules (LWC) on the components. Prints each failing finding and the count
// per severity; fails on any Critical (1) or High (2) finding, or when an engine reports an error
// (a file PMD could not parse would otherwise pass silently). PMD's JavaScript rules are not used:
// its parser does not know class fields and calls every one a global variable.
//   node tests/salesforce/code-analyzer.js            from the repository root (npm ci first)
const path = require('path');
const { CodeAnalyzer, CodeAnalyzerConfig, EventType, LogLevel } = require('@salesforce/code-analyzer-core');
const pmd = require('@salesforce/code-analyzer-pmd-engine');
const eslint = require('@salesforce/code-analyzer-eslint-engine');

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGES = ['force-app', 'force-app-quotes', 'force-app-revenue-cloud'];
const FAILING = 2; // Critical (1) and High (2)
const NAMES = { 1: 'Critical', 2: 'High', 3: 'Moderate', 4: 'Low', 5: 'Info' };

async function main() {
  const analyzer = new CodeAnalyzer(CodeAnalyzerConfig.withDefaults());
  const errors = [];
  for (const type of [EventType.LogEvent, EventType.EngineLogEvent]) {
    analyzer.onEvent(type, (event) => {
      if (event.logLevel === LogLevel.Error) errors.push(event.message);
    });
  }
  await analyzer.addEnginePlugin(pmd.createEnginePlugin());
  await analyzer.addEnginePlugin(eslint.createEnginePlugin());
  const workspace = await analyzer.createWorkspace(PACKAGES.map((p) => path.join(ROOT, p)));
  const rules = await analyzer.selectRules(['pmd:Apex', 'pmd:XML', 'eslint:Recommended'], { workspace });
  const results = await analyzer.run(rules, { workspace });
  const counts = {};
  let failing = 0;
  for (const violation of results.getViolations()) {
    const severity = violation.getRule().getSeverityLevel();
    counts[severity] = (counts[severity] || 0) + 1;
    const at = violation.getPrimaryLocation();
    const where = `${path.relative(ROOT, at.getFile() || '?')}:${at.getStartLine() || 0}`;
    const line = `${NAMES[severity]} ${violation.getRule().getName()} ${where} ${violation.getMessage().trim()}`;
    if (severity <= FAILING) {
      failing += 1;
      console.log(`FAIL ${line}`);
    } else if (process.env.B1FORCE_ANALYZER_ALL) {
      console.log(`     ${line}`);
    }
  }
  const summary = Object.keys(NAMES).map((s) => `${NAMES[s]} ${counts[s] || 0}`).join(', ');
  console.log(`code analyzer: ${rules.getCount()} rules (${rules.getEngineNames().join(', ')}) over ${PACKAGES.join(', ')}: ${summary}`);
  for (const error of errors) console.log(`ERROR ${error}`);
  if (failing > 0 || errors.length > 0) {
    console.log(`code analyzer: ${failing} critical/high findings, ${errors.length} engine errors`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
