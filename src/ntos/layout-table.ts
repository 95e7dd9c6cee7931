// The built-in layout table: offsets, sizes and symbol RVAs of real Windows x64 kernels, generated
// from real ISF files by scripts/gen-layout-table.ts and committed as data (src/ntos/data/layouts.json).
// Keyed by PDB GUID-age (exact: fields, sizes and symbol RVAs of that kernel) and by build number
// (offsets and sizes only — RVAs differ between revisions of one build).
import { readFileSync } from 'node:fs';
import {
  LAYOUT_FIELDS,
  LAYOUT_SIZES,
  LAYOUT_SYMBOLS,
  type FieldPlace,
  type KernelLayout,
  type LayoutFieldKey,
  type LayoutSizeKey,
  type LayoutSymbolKey,
} from './layout.ts';

export const TABLE_FORMAT = 'vsm-forensics-layout-table/1';

/** [offset, size] or [offset, size, bitPosition, bitLength]. */
export type PackedField = [number, number] | [number, number, number, number];

export interface PackedLayout {
  fields: Record<string, PackedField>;
  sizes: Record<string, number>;
}

export interface TableKernel {
  pdb: string;
  /** ntoskrnl file version, e.g. 10.0.19041.804, when the source names it. */
  version?: string;
  build?: number;
  /** Index into `layouts`. */
  layout: number;
  symbols: Record<string, number>;
}

export interface TableBuild {
  kernels: number;
  versions: string[];
  /** Index into `layouts`: the offsets every kernel of this build agrees on. */
  layout?: number;
  /**
   * Fields (or `sizeof X`) whose value differs between kernels of the build: value JSON → versions.
   * A disagreeing field is left out of the build layout; a disagreeing size keeps its smallest value.
   */
  disagreements?: Record<string, Record<string, string[]>>;
}

export interface TableFile {
  format: string;
  generator: string;
  source: { repository: string | null; commit: string | null; license: string | null; isfFiles: number };
  layouts: PackedLayout[];
  kernels: Record<string, TableKernel>;
  builds: Record<string, TableBuild>;
}

/**
 * Builds that run the kernel of another build (enablement packages): the dump header and
 * KUSER_SHARED_DATA may report the marketing build, the kernel is the base build's.
 */
export const BUILD_ALIASES: Readonly<Record<number, number>> = {
  18363: 18362, // Windows 10 1909 = 1903 kernel
  19042: 19041, // 20H2
  19043: 19041, // 21H1
  19044: 19041, // 21H2
  19045: 19041, // 22H2
  22631: 22621, // Windows 11 23H2 = 22H2 kernel
};

/** Serialises the table one entry per line: small, and a regenerated table diffs line by line. */
export function encodeTable(t: TableFile): string {
  const lines: string[] = ['{'];
  lines.push(`"format": ${JSON.stringify(t.format)},`);
  lines.push(`"generator": ${JSON.stringify(t.generator)},`);
  lines.push(`"source": ${JSON.stringify(t.source)},`);
  lines.push('"layouts": [');
  lines.push(t.layouts.map((l) => JSON.stringify(l)).join(',\n'));
  lines.push('],');
  lines.push('"kernels": {');
  lines.push(
    Object.keys(t.kernels)
      .sort()
      .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(t.kernels[k])}`)
      .join(',\n'),
  );
  lines.push('},');
  lines.push('"builds": {');
  lines.push(
    Object.keys(t.builds)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(t.builds[k])}`)
      .join(',\n'),
  );
  lines.push('}');
  lines.push('}');
  return lines.join('\n') + '\n';
}

const FIELD_KEYS = new Set<string>(Object.keys(LAYOUT_FIELDS));
const SIZE_KEYS = new Set<string>(LAYOUT_SIZES);
const SYMBOL_KEYS = new Set<string>(LAYOUT_SYMBOLS);

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const nonNeg = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;

/** The top level: format and sections (the entries are checked where they are used). */
function checkSections(doc: unknown): TableFile {
  if (!isObj(doc) || doc.format !== TABLE_FORMAT) throw new Error(`layout table: format is not ${TABLE_FORMAT}`);
  const t = doc as unknown as TableFile;
  if (!Array.isArray(t.layouts) || !isObj(t.kernels) || !isObj(t.builds)) throw new Error('layout table: missing sections');
  return t;
}

function checkLayout(i: unknown, l: unknown): PackedLayout {
  if (!isObj(l) || !isObj(l.fields) || !isObj(l.sizes)) throw new Error(`layout table: bad layout ${String(i)}`);
  for (const [k, f] of Object.entries(l.fields)) {
    if (!Array.isArray(f) || (f.length !== 2 && f.length !== 4) || !f.every(nonNeg)) throw new Error(`layout table: bad field ${k}`);
  }
  for (const [k, sz] of Object.entries(l.sizes)) if (!nonNeg(sz)) throw new Error(`layout table: bad size ${k}`);
  return l as unknown as PackedLayout;
}

function checkKernel(key: string, e: unknown, layouts: number): TableKernel {
  if (!/^[0-9A-F]{32}-\d+$/.test(key) || !isObj(e) || !nonNeg(e.layout) || (e.layout as number) >= layouts || !isObj(e.symbols)) {
    throw new Error(`layout table: bad kernel ${key}`);
  }
  return e as unknown as TableKernel;
}

function checkBuild(key: string, b: unknown, layouts: number): TableBuild {
  if (!/^\d+$/.test(key) || !isObj(b) || (b.layout !== undefined && (!nonNeg(b.layout) || (b.layout as number) >= layouts))) {
    throw new Error(`layout table: bad build ${key}`);
  }
  return b as unknown as TableBuild;
}

/**
 * Checks the whole table, so a damaged data file fails loudly, not as a wrong offset later. The
 * analysis checks only the entries it uses (each at its first use: checking all 213 kernels costs
 * more than the lookup); the tests check the committed file whole.
 */
export function checkTable(doc: unknown): TableFile {
  const t = checkSections(doc);
  t.layouts.forEach((l, i) => checkLayout(i, l));
  for (const [k, e] of Object.entries(t.kernels)) checkKernel(k, e, t.layouts.length);
  for (const [k, b] of Object.entries(t.builds)) checkBuild(k, b, t.layouts.length);
  return t;
}

/** Entries of the table by key, each parsed (unchecked) when asked for; undefined when absent. */
export interface TableEntries {
  readonly layouts: number;
  layout(i: number): unknown;
  kernel(key: string): unknown;
  build(key: string): unknown;
}

function entriesOf(t: TableFile): TableEntries {
  const own = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);
  return { layouts: t.layouts.length, layout: (i) => t.layouts[i], kernel: (k) => own(t.kernels, k), build: (k) => own(t.builds, k) };
}

/**
 * The table's text read line by line: encodeTable writes one entry per line, so a lookup parses
 * its kernel's line and its layout's, not the 213 kernels (~5 ms and a megabyte of objects at
 * every start). Undefined for a file not in that shape (it is then parsed whole).
 */
export function entriesOfLines(text: string): TableEntries | undefined {
  const lines = text.split('\n');
  const at = (line: string) => lines.indexOf(line);
  const [l0, l1, k0, k1, b0] = [at('"layouts": ['), at('],'), at('"kernels": {'), at('},'), at('"builds": {')];
  const b1 = lines.indexOf('}', b0);
  if (lines[1] !== `"format": ${JSON.stringify(TABLE_FORMAT)},` || !(l0 > 0 && l1 > l0 && k0 === l1 + 1 && k1 > k0 && b0 === k1 + 1 && b1 > b0)) return undefined;
  const entry = (line: string, skip: number) => JSON.parse(line.slice(skip, line.endsWith(',') ? -1 : undefined)) as unknown;
  const keyed = (from: number, to: number, key: string) => {
    const prefix = `${JSON.stringify(key)}: `;
    for (let i = from + 1; i < to; i++) if (lines[i].startsWith(prefix)) return entry(lines[i], prefix.length);
    return undefined;
  };
  return {
    layouts: l1 - l0 - 1,
    layout: (i) => (nonNeg(i) && i < l1 - l0 - 1 ? entry(lines[l0 + 1 + i], 0) : undefined),
    kernel: (key) => keyed(k0, k1, key),
    build: (key) => keyed(b0, b1, key),
  };
}

const TABLE_URL = new URL('./data/layouts.json', import.meta.url);
/** Milliseconds since `t0` (process.hrtime: the global `performance` loads node:perf_hooks, ~3 ms of a start-up). */
const msSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
let cached: TableFile | undefined;
let cachedEntries: TableEntries | undefined;
let loadMs = 0;

/** The committed table, parsed whole once per process (its entries are checked as they are used). */
export function layoutTable(): TableFile {
  if (!cached) {
    const t0 = process.hrtime.bigint();
    cached = checkSections(JSON.parse(readFileSync(TABLE_URL, 'utf8')));
    loadMs = msSince(t0);
  }
  return cached;
}

/** The committed table's entries for lookups: line by line when it has encodeTable's shape. */
function tableEntries(): TableEntries {
  if (!cachedEntries) {
    if (cached) return (cachedEntries = entriesOf(cached));
    const t0 = process.hrtime.bigint();
    const text = readFileSync(TABLE_URL, 'utf8');
    cachedEntries = entriesOfLines(text) ?? entriesOf((cached = checkSections(JSON.parse(text))));
    loadMs = msSince(t0);
  }
  return cachedEntries;
}

/** Milliseconds the first load of the table took (0 before it). */
export function layoutTableLoadMs(): number {
  return loadMs;
}

function unpack(p: PackedLayout): Pick<KernelLayout, 'fields' | 'sizes'> {
  const fields: Partial<Record<LayoutFieldKey, FieldPlace>> = {};
  for (const [k, f] of Object.entries(p.fields)) {
    if (!FIELD_KEYS.has(k)) continue; // a field the analyzer no longer reads
    fields[k as LayoutFieldKey] = f.length === 4 ? { offset: f[0], size: f[1], bitPosition: f[2], bitLength: f[3] } : { offset: f[0], size: f[1] };
  }
  const sizes: Partial<Record<LayoutSizeKey, number>> = {};
  for (const [k, s] of Object.entries(p.sizes)) if (SIZE_KEYS.has(k)) sizes[k as LayoutSizeKey] = s;
  return { fields, sizes };
}

export function pdbKey(guid: string, age: number): string {
  return `${guid.toUpperCase()}-${age}`;
}

/** The exact kernel (fields, sizes and symbol RVAs), or undefined. */
export function builtinByPdb(guid: string, age: number): KernelLayout | undefined {
  const t = tableEntries();
  const key = pdbKey(guid, age);
  const entry = t.kernel(key);
  if (entry === undefined) return undefined;
  const k = checkKernel(key, entry, t.layouts);
  const symbols: Partial<Record<LayoutSymbolKey, number>> = {};
  for (const [s, rva] of Object.entries(k.symbols)) if (SYMBOL_KEYS.has(s)) symbols[s as LayoutSymbolKey] = rva;
  return {
    pdb: { name: k.pdb, guid: key.slice(0, 32), age },
    build: k.build,
    version: k.version,
    source: { kind: 'builtin', key, exact: true },
    ...unpack(checkLayout(k.layout, t.layout(k.layout))),
    symbols,
  };
}

/** The build's offsets and sizes (no symbol RVAs), or undefined when the table has no kernel of that build. */
export function builtinByBuild(build: number): KernelLayout | undefined {
  const t = tableEntries();
  const base = t.build(String(build)) !== undefined ? build : BUILD_ALIASES[build];
  const entry = base === undefined ? undefined : t.build(String(base));
  const b = entry === undefined ? undefined : checkBuild(String(base), entry, t.layouts);
  if (!b || b.layout === undefined) return undefined;
  return {
    build,
    source: { kind: 'builtin', key: base === build ? `build:${build}` : `build:${base} (for ${build})`, exact: false },
    ...unpack(checkLayout(b.layout, t.layout(b.layout))),
    symbols: {},
  };
}

/**
 * Kernels whose symbol RVAs equal every RVA given (global VA − kernel base, as a dump header and
 * KDBG give them): identifies a kernel when its RSDS record cannot be read. Needs two or more RVAs.
 */
export function builtinByRvas(rvas: Partial<Record<LayoutSymbolKey, number>>): string[] {
  const given = Object.entries(rvas).filter(([, v]) => typeof v === 'number') as [string, number][];
  if (given.length < 2) return [];
  const t = layoutTable();
  return Object.keys(t.kernels)
    .filter((k) => given.every(([name, rva]) => checkKernel(k, t.kernels[k], t.layouts.length).symbols[name] === rva))
    .sort();
}

/** Counts for `symbols which` and the README. */
export function tableSummary(): { kernels: number; builds: number[]; layouts: number; source: TableFile['source'] } {
  const t = layoutTable();
  return {
    kernels: Object.keys(t.kernels).length,
    builds: Object.keys(t.builds).map(Number),
    layouts: t.layouts.length,
    source: t.source,
  };
}
