#!/usr/bin/env node
// `sf project convert source` without the CLI (which needs Node 22): Salesforce's own
// source-deploy-retrieve library resolves every file of each package to a metadata type and writes
// the Metadata API form. A file of no known type, or a bundle missing a part, fails here instead of
// at deploy time. The optional packages are projects of their own (their package directory is main).
//   node tests/salesforce/convert-source.js           from the repository root (npm ci first)
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ComponentSet, MetadataConverter } = require('@salesforce/source-deploy-retrieve');

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGES = ['force-app', 'force-app-quotes/main', 'force-app-revenue-cloud/main'];

async function main() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'b1force-mdapi-'));
  for (const dir of PACKAGES) {
    const set = ComponentSet.fromSource(path.join(ROOT, dir));
    const kinds = {};
    for (const component of set.getSourceComponents()) {
      kinds[component.type.name] = (kinds[component.type.name] || 0) + 1;
    }
    const target = path.join(out, dir.replace(/\W+/g, '-'));
    await new MetadataConverter().convert(set, 'metadata', { type: 'directory', outputDirectory: target });
    const listed = Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`convert source: ${dir}: ${listed}`);
  }
  fs.rmSync(out, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`convert source FAILED: ${e.message}`);
  process.exit(1);
});
