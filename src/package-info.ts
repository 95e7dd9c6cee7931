// Where this package is installed and what it is called: found by walking up from this module to
// the package.json named vsm-forensics, so it is the same answer from src/ (tsx, tests) and from
// the compiled dist/src/ (a clone's build, a global install) — never a fixed relative depth.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_NAME = 'vsm-forensics';
/** Directories to climb at most (src/x.ts is 1 below the root, dist/src/x.js 2). */
const MAX_DEPTH = 6;

export interface PackageInfo {
  /** The directory holding package.json. */
  readonly root: string;
  readonly name: string;
  readonly version: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < MAX_DEPTH; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return (cached = { root: dir, name: PACKAGE_NAME, version: pkg.version });
    } catch {
      // no (readable) package.json here: keep climbing
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return (cached = { root: dirname(dirname(fileURLToPath(import.meta.url))), name: PACKAGE_NAME, version: '0.0.0' });
}
