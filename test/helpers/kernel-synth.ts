// Synthetic dumps for the kernel-discovery and inference tests: the samples generator's dumps
// (real layouts from ../shared/data/isf), copied and patched so that no symbol source knows them.
import { copyFileSync, mkdirSync, openSync, closeSync, readSync, writeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generate, type Form, type Truth } from '../../samples/generate.ts';
import { loadScenario, type Scenario } from '../../samples/scenario.ts';

export interface Sample {
  path: string;
  truth: Truth;
}

const cache = new Map<string, Sample>();

/** Generates (once per process) a dump of the default scenario, or of `scenario`, for `kernel`. */
export function sample(dir: string, kernel: string, form: Form, opts: { scenario?: Scenario; tag?: string; sizeMiB?: number; seed?: number } = {}): Sample {
  const key = `${dir}|${kernel}|${form}|${opts.tag ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${kernel}-${form}${opts.tag ? '-' + opts.tag : ''}.dmp`);
  const r = generate({
    scenario: opts.scenario ?? 'vsm-credential-guard',
    isf: kernel,
    form,
    sizeBytes: (opts.sizeMiB ?? 32) * 2 ** 20,
    seed: opts.seed ?? 7,
    out,
  });
  const s = { path: r.dumpPath, truth: r.truth };
  cache.set(key, s);
  return s;
}

export function scenario(mutate: (s: Scenario) => Scenario): Scenario {
  return mutate(loadScenario('vsm-credential-guard'));
}

/** GUID text (symbol-store order) → the 16 bytes as stored in an RSDS record. */
export function guidBytes(guid: string): Buffer {
  const b = Buffer.from(guid, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return out;
}

/** Every file offset of `needle` (bounded reads, 16 MiB at a time). */
export function findAll(path: string, needle: Buffer): number[] {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const hits: number[] = [];
  try {
    const chunk = Buffer.alloc(16 * 2 ** 20 + needle.length);
    for (let pos = 0; pos < size; pos += 16 * 2 ** 20) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      for (let i = chunk.subarray(0, n).indexOf(needle); i >= 0; i = chunk.subarray(0, n).indexOf(needle, i + 1)) {
        if (i < 16 * 2 ** 20 || pos + i >= size - needle.length) hits.push(pos + i);
      }
    }
  } finally {
    closeSync(fd);
  }
  return [...new Set(hits)];
}

export function patch(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * A copy of `src` whose kernel RSDS names `newGuid` (a kernel no source knows) and, for crash
 * dumps, whose header says `build`. Returns the copy's path.
 */
export function unknownKernelCopy(src: Sample, dest: string, newGuid: string, build?: number): string {
  copyFileSync(src.path, dest);
  const old = guidBytes(src.truth.pdb.guid);
  const rsds = findAll(dest, Buffer.concat([Buffer.from('RSDS', 'latin1'), old]));
  if (rsds.length !== 1) throw new Error(`expected one kernel RSDS record in ${src.path}, found ${rsds.length}`);
  patch(dest, rsds[0] + 4, guidBytes(newGuid));
  if (build !== undefined && src.truth.form !== 'raw') {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(build);
    patch(dest, 0x0c, b); // DUMP_HEADER64.MinorVersion
  }
  return dest;
}
