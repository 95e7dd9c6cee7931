// Generates src/ntos/data/layouts.json, the built-in layout table, from real Volatility 3 ISF files.
//
//   npx tsx scripts/gen-layout-table.ts --versions README.md [--versions SOURCES.md] \
//     [--source-repo URL --source-commit SHA --license SPDX] [-o src/ntos/data/layouts.json] DIR...
//
// Every .json/.json.gz/.json.xz under each DIR is read with the project's ISF reader and reduced
// to the LAYOUT_FIELDS / LAYOUT_SIZES / LAYOUT_SYMBOLS of src/ntos/layout.ts. An ISF holds no
// build number, so --versions names text files mapping "10.0.19041.804" to a GUID-age (either
// "GUID-AGE" or the README's GUID+AGEHEX run together); a kernel with no known version is kept
// by GUID-age only. Identical layouts are stored once; kernels of one build must agree on every
// offset, and where they do not, the build entry omits that field and records the disagreement.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { layoutFromIsf, type KernelLayout } from '../src/ntos/layout.ts';
import { encodeTable, type TableFile, type PackedField, TABLE_FORMAT } from '../src/ntos/layout-table.ts';

interface Args {
  dirs: string[];
  versions: string[];
  out: string;
  repo?: string;
  commit?: string;
  license?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { dirs: [], versions: [], out: 'src/ntos/data/layouts.json' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = (): string => {
      const n = argv[++i];
      if (n === undefined) throw new Error(`${v} needs a value`);
      return n;
    };
    if (v === '--versions') a.versions.push(next());
    else if (v === '-o' || v === '--out') a.out = next();
    else if (v === '--source-repo') a.repo = next();
    else if (v === '--source-commit') a.commit = next();
    else if (v === '--license') a.license = next();
    else if (v.startsWith('-')) throw new Error(`unknown option ${v}`);
    else a.dirs.push(v);
  }
  if (a.dirs.length === 0) throw new Error('name at least one ISF directory');
  return a;
}

function* isfFiles(dir: string, depth = 0): Generator<string> {
  if (depth > 8) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* isfFiles(p, depth + 1);
    else if (/\.json(\.xz|\.gz)?$/i.test(name)) yield p;
  }
}

/** "10.0.19041.804" → GUID-AGE, from any text table that pairs them on one line. */
function readVersions(paths: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const p of paths) {
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      const ver = /\b(\d+\.\d+\.\d+\.\d+)\b/.exec(line)?.[1];
      if (!ver) continue;
      let key: string | undefined;
      const dashed = /\b([0-9A-Fa-f]{32})-(\d+)\b/.exec(line);
      if (dashed) key = `${dashed[1].toUpperCase()}-${Number(dashed[2])}`;
      else {
        // The README writes GUID and age run together, as in a symbol-store path (age in hex).
        const run = /\|\s*([0-9A-Fa-f]{33,40})\s*\|/.exec(line);
        if (run) key = `${run[1].slice(0, 32).toUpperCase()}-${parseInt(run[1].slice(32), 16)}`;
      }
      if (!key) continue;
      const prev = map.get(key);
      if (prev && prev !== ver) throw new Error(`${key}: versions disagree (${prev} vs ${ver}) in ${p}`);
      map.set(key, ver);
    }
  }
  return map;
}

function pack(layout: KernelLayout): { fields: Record<string, PackedField>; sizes: Record<string, number> } {
  const fields: Record<string, PackedField> = {};
  for (const [k, f] of Object.entries(layout.fields)) {
    if (!f) continue;
    fields[k] = f.bitPosition === undefined ? [f.offset, f.size] : [f.offset, f.size, f.bitPosition, f.bitLength ?? 0];
  }
  return { fields, sizes: { ...layout.sizes } as Record<string, number> };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const versions = readVersions(args.versions);
  const t0 = Date.now();
  const layoutIndex = new Map<string, number>();
  const file: TableFile = {
    format: TABLE_FORMAT,
    generator: 'scripts/gen-layout-table.ts',
    source: {
      repository: args.repo ?? null,
      commit: args.commit ?? null,
      license: args.license ?? null,
      isfFiles: 0,
    },
    layouts: [],
    kernels: {},
    builds: {},
  };
  const byBuild = new Map<number, { key: string; version: string; layout: number }[]>();
  let n = 0;
  for (const dir of args.dirs) {
    for (const path of isfFiles(dir)) {
      const types = new IsfTypes(loadIsfFile(path));
      const id = types.identity;
      if (!id) {
        process.stderr.write(`skip ${path}: no metadata.windows.pdb\n`);
        continue;
      }
      if (id.machine_type !== 0x8664) {
        process.stderr.write(`skip ${path}: machine_type ${id.machine_type} is not x64\n`);
        continue;
      }
      const key = `${id.GUID.toUpperCase()}-${id.age}`;
      if (file.kernels[key]) continue; // the same kernel in two directories
      const version = versions.get(key);
      const build = version ? Number(version.split('.')[2]) : undefined;
      const layout = layoutFromIsf(types, { kind: 'isf', path }, build);
      const packed = pack(layout);
      const sig = JSON.stringify(packed);
      let li = layoutIndex.get(sig);
      if (li === undefined) {
        li = file.layouts.length;
        file.layouts.push(packed);
        layoutIndex.set(sig, li);
      }
      file.kernels[key] = {
        pdb: id.database,
        ...(version ? { version, build } : {}),
        layout: li,
        symbols: { ...layout.symbols } as Record<string, number>,
      };
      if (build !== undefined && version) {
        const list = byBuild.get(build) ?? [];
        list.push({ key, version, layout: li });
        byBuild.set(build, list);
      }
      n++;
      if (n % 20 === 0) process.stderr.write(`${n} ISF files read\n`);
    }
  }
  file.source.isfFiles = n;
  for (const [build, list] of [...byBuild.entries()].sort((a, b) => a[0] - b[0])) {
    const layouts = [...new Set(list.map((k) => k.layout))];
    const entry: TableFile['builds'][string] = { kernels: list.length, versions: list.map((k) => k.version).sort(cmpVersion) };
    if (layouts.length === 1) {
      entry.layout = layouts[0];
    } else {
      // Keep what every kernel of the build agrees on; name each disagreeing field with its values.
      const agreed: Record<string, PackedField> = {};
      const disagreements: Record<string, Record<string, string[]>> = {};
      const allKeys = new Set(layouts.flatMap((l) => Object.keys(file.layouts[l].fields)));
      for (const fk of [...allKeys].sort()) {
        const seen = new Map<string, string[]>();
        for (const k of list) {
          const v = JSON.stringify(file.layouts[k.layout].fields[fk] ?? null);
          seen.set(v, [...(seen.get(v) ?? []), k.version]);
        }
        if (seen.size === 1) {
          const only = file.layouts[list[0].layout].fields[fk];
          if (only) agreed[fk] = only;
        } else {
          disagreements[fk] = Object.fromEntries([...seen.entries()].map(([v, vs]) => [v, vs.sort(cmpVersion)]));
        }
      }
      const sizes: Record<string, number> = {};
      const allSizes = new Set(layouts.flatMap((l) => Object.keys(file.layouts[l].sizes)));
      for (const sk of [...allSizes].sort()) {
        const seen = new Map<string, string[]>();
        for (const k of list) {
          const v = JSON.stringify(file.layouts[k.layout].sizes[sk] ?? null);
          seen.set(v, [...(seen.get(v) ?? []), k.version]);
        }
        if (seen.size === 1) {
          const only = file.layouts[list[0].layout].sizes[sk];
          if (only !== undefined) sizes[sk] = only;
        } else {
          // Later revisions append members: the build keeps the smallest size (a lower bound for
          // scanning), provided every field the analyzer reads lies within it.
          const values = list.map((k) => file.layouts[k.layout].sizes[sk]);
          if (values.every((v) => v !== undefined)) {
            const min = Math.min(...(values as number[]));
            const prefix = sk.slice(1) + '.';
            const outside = Object.entries(agreed).filter(([fk, f]) => fk.startsWith(prefix) && f[0] + f[1] > min);
            if (outside.length === 0) sizes[sk] = min;
            else process.stderr.write(`build ${build}: ${outside.map((o) => o[0]).join(', ')} beyond the smallest ${sk}; size omitted\n`);
          }
          disagreements[`sizeof ${sk}`] = Object.fromEntries([...seen.entries()].map(([v, vs]) => [v, vs.sort(cmpVersion)]));
        }
      }
      const sig = JSON.stringify({ fields: agreed, sizes });
      let li = layoutIndex.get(sig);
      if (li === undefined) {
        li = file.layouts.length;
        file.layouts.push({ fields: agreed, sizes });
        layoutIndex.set(sig, li);
      }
      entry.layout = li;
      entry.disagreements = disagreements;
    }
    file.builds[String(build)] = entry;
  }
  writeFileSync(args.out, encodeTable(file));
  const bytes = statSync(args.out).size;
  process.stderr.write(
    `${args.out}: ${n} kernels, ${Object.keys(file.builds).length} builds, ${file.layouts.length} distinct layouts, ${bytes} bytes, ${Date.now() - t0} ms\n`,
  );
  for (const [b, e] of Object.entries(file.builds)) {
    if (e.disagreements) process.stderr.write(`build ${b}: ${Object.keys(e.disagreements).length} disagreeing entries: ${Object.keys(e.disagreements).join(', ')}\n`);
  }
}

function cmpVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

main();
