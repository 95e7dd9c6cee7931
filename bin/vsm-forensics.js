#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm run build`; `prepare` builds it in a clone,
// `prepack` before packing). VSM_FORENSICS_FROM_SOURCE=1 — set by the test runner (package.json
// "ava") — runs src/ through tsx instead, so tests never exercise a stale build; a package
// installed from the registry has no src/ and no tsx, and never takes that branch.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

if (process.env.VSM_FORENSICS_FROM_SOURCE === '1' && existsSync(new URL('../src/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
} else {
  const entry = new URL('../dist/src/main.js', import.meta.url);
  try {
    await import(entry.href);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes(fileURLToPath(entry))) throw e;
    process.stderr.write('vsm-forensics: dist/ is not built: run `npm run build` (or `npm install`) in the package directory\n');
    process.exitCode = 70;
  }
}
