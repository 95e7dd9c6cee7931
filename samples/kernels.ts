// The real kernel layouts we generate from (../shared/data/isf), keyed by PDB GUID-age.
// The ISF holds no build number: builds come from the source repository's table (isf/SOURCES.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputPathError } from '../src/errors.ts';
import { packageInfo } from '../src/package-info.ts';

export interface KnownKernel {
  readonly guidAge: string;
  readonly build: number;
  readonly version: string;
}

export const KNOWN_KERNELS: readonly KnownKernel[] = [
  { guidAge: 'DBBC830E3E9A48FDA25A2144C146930E-1', build: 14393, version: '10.0.14393.6343' },
  { guidAge: '1D4090613BF97F9B9529992E20E93897-1', build: 17763, version: '10.0.17763.5328' },
  { guidAge: 'DCA4AD4BEEB4746D48F84C0125019E43-1', build: 18362, version: '10.0.18362.836' },
  { guidAge: '5278AFF86C341677D7D7835C85B7B844-1', build: 19041, version: '10.0.19041.804' },
  { guidAge: '606FF669409B00F7FC8C61A9C1670129-1', build: 19041, version: '10.0.19041.3570' },
  { guidAge: 'B3ED6FA26A1FD6DF6A34DF3B125CAFE8-1', build: 20348, version: '10.0.20348.2227' },
  { guidAge: '0CE4A95C0CD782A7596B034D8648E585-1', build: 22000, version: '10.0.22000.2538' },
];

/** ../shared/data/isf beside the package root (the same from samples/ and from dist/samples/). */
export function defaultIsfRoot(): string {
  return join(packageInfo().root, '..', 'shared', 'data', 'isf');
}

/** The ISF files shipped with the package (the default scenario's kernel; see samples/isf/SOURCES.md). */
export const BUNDLED_ISF_ROOT = fileURLToPath(new URL('./isf', import.meta.url));

export function isfPathFor(guidAge: string, root = defaultIsfRoot()): string {
  return join(root, 'windows', 'ntkrnlmp.pdb', `${guidAge}.json.xz`);
}

/** A known kernel's ISF: from ../shared/data/isf when present, else the copy shipped with the package. */
function findIsf(k: KnownKernel): string {
  const places = [defaultIsfRoot(), BUNDLED_ISF_ROOT].map((r) => isfPathFor(k.guidAge, r));
  const found = places.find((p) => existsSync(p));
  if (found) return found;
  throw new InputPathError(`no ISF file for kernel ${k.guidAge} (build ${k.build}) in ${places.join(' or ')}: put ../shared beside the package, or pass --isf FILE`);
}

/** Resolves "19041", "10.0.19041.804", a GUID-age or a path to an ISF file path (`root`: look only there). */
export function resolveKernel(spec: string, root?: string): { path: string; known?: KnownKernel } {
  const up = spec.toUpperCase();
  let known = KNOWN_KERNELS.find((k) => k.guidAge === up || k.version === spec);
  if (!known && /^\d{5}$/.test(spec)) known = KNOWN_KERNELS.find((k) => k.build === Number(spec));
  if (known) return { path: root === undefined ? findIsf(known) : isfPathFor(known.guidAge, root), known };
  if (existsSync(spec)) return { path: spec };
  throw new Error(`unknown kernel "${spec}": give a build (e.g. 19041), a GUID-age from ../shared/data/isf, or an ISF path`);
}

export function knownByGuidAge(guidAge: string): KnownKernel | undefined {
  return KNOWN_KERNELS.find((k) => k.guidAge === guidAge.toUpperCase());
}
