#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm run build`; `prepare` builds it in a clone,
// `prepack` before packing). CommonJS (bin/package.json), as dist/src/main.js is: an ESM entry
// would start Node's ESM loader, ~15 ms of every run. VSM_FORENSICS_FROM_SOURCE=1 — set by the
// test runner (package.json "ava") — runs src/ through tsx instead, so tests never exercise a
// stale build; a package installed from the registry has no src/ and no tsx, and never takes that
// branch.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, '../src/main.ts');
if (process.env.VSM_FORENSICS_FROM_SOURCE === '1' && existsSync(source)) {
  import('tsx/esm/api').then(({ register }) => {
    register();
    return import('../src/main.ts');
  });
} else {
  const entry = join(__dirname, '../dist/src/main.js');
  try {
    require(entry);
  } catch (e) {
    if (e?.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(entry)) throw e;
    process.stderr.write('vsm-forensics: dist/ is not built: run `npm run build` (or `npm install`) in the package directory\n');
    process.exitCode = 70;
  }
}
