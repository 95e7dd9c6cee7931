// A private temp folder per test run: test/.tmp/<name>/run-<pid>-XXXXXX. Several people (and their
// `npm test`) share one work tree, so two runs of one test file must not clobber each other; the
// folders of runs whose process is gone are removed on the way in.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function runDir(name: string): string {
  const base = join(fileURLToPath(new URL('../.tmp/', import.meta.url)), name);
  mkdirSync(base, { recursive: true });
  for (const entry of readdirSync(base)) {
    const m = /^run-(\d+)-/.exec(entry);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(base, entry), { recursive: true, force: true });
    }
  }
  return mkdtempSync(join(base, `run-${process.pid}-`));
}
