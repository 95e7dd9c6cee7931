// Where the kernel's layout comes from, in one documented order (README "Symbols"):
//   1. --symbols PATH (repeatable): a PDB, an ISF file, or a directory in Volatility 3 layout
//      (windows/<pdb>/<GUID>-<AGE>.json.xz) or symbol-store layout (<pdb>/<GUID><AGEHEX>/<pdb>);
//   2. _NT_SYMBOL_PATH: plain directories, cache*DIR, and the local stores of srv*STORE*URL,
//      then our own download cache (defaultSymbolCache());
//   3. the built-in table by exact PDB GUID-age (offsets, sizes and symbol RVAs); when the RSDS was
//      unreadable, the one table kernel whose symbol RVAs equal those the dump shows (not exact);
//   4. a symbol-server download — only from a server the user named (--symbol-server URL, or the
//      URL of a srv* entry in _NT_SYMBOL_PATH) — stored in the cache, then read like a --symbols PDB;
//   5. the built-in table by build number: offsets and sizes only, marked not exact.
// Exact sources come before the approximate one so that a named server is asked before we settle
// for another revision's offsets. When nothing matches: SymbolsNeededError (exit code 4) with the
// file name, store path, ISF path and URL to fetch.
import { SymbolsNeededError, VsmError } from '../errors.ts';
import { log } from '../log.ts';
import { inferLayout, type Inference } from './infer.ts';
import { IsfTypes, loadIsfFile } from './isf.ts';
import { applySymbols, observedRvas, type KernelDiscovery } from './kernel.ts';
import { builtinByBuild, builtinByPdb, builtinByRvas, tableSummary } from './layout-table.ts';
import { layoutFromIsf, type KernelLayout, type LayoutSymbolKey } from './layout.ts';
import { layoutFromPdbFile } from './pdb-layout.ts';
import {
  MICROSOFT_SYMBOL_SERVER,
  defaultSymbolCache,
  discardCached,
  downloadPdb,
  findInDirectory,
  isfRelPath,
  parseNtSymbolPath,
  sniffSymbolFile,
  storeRelPath,
  symbolServerUrl,
  type Candidate,
  type PdbIdentity,
} from './symbol-store.ts';

export type { PdbIdentity } from './symbol-store.ts';

export interface ResolveOptions {
  /** --symbols paths, in the order given. */
  readonly symbols?: readonly string[];
  /** _NT_SYMBOL_PATH value; defaults to process.env._NT_SYMBOL_PATH. Pass '' to ignore the environment. */
  readonly ntSymbolPath?: string;
  /** --symbol-server URL: the only way (with a srv*URL entry) to allow a download. */
  readonly symbolServer?: string;
  /** Where downloads go and which cache is searched; defaults to defaultSymbolCache(). */
  readonly cacheDir?: string;
  /** Use the built-in table (default true). */
  readonly builtin?: boolean;
  readonly downloadTimeoutMs?: number;
  /**
   * Symbol RVAs the dump itself shows (kernel.ts observedRvas): when the kernel's RSDS could not be
   * read, a unique table kernel with all of them identifies the kernel (marked not exact).
   */
  readonly observedRvas?: Partial<Record<LayoutSymbolKey, number>>;
}

export type TriedStep = 'symbols' | 'nt-symbol-path' | 'cache' | 'builtin' | 'builtin-rva' | 'server' | 'builtin-build' | 'inferred';
export type TriedResult = 'matched' | 'not-found' | 'mismatch' | 'error' | 'skipped' | 'unusable';

/** One place we looked, and what happened there. */
export interface TriedSource {
  readonly step: TriedStep;
  readonly where: string;
  readonly result: TriedResult;
  readonly detail?: string;
}

export interface ResolvedSymbols {
  readonly layout: KernelLayout;
  /** One line: where the layout came from. */
  readonly source: string;
  /** True when the layout is this kernel's own (GUID-age matched); false for a same-build table entry. */
  readonly exact: boolean;
  readonly tried: readonly TriedSource[];
}

/** SymbolsNeededError that also lists every place tried (for `symbols which` and the report). */
export class KernelSymbolsNeededError extends SymbolsNeededError {
  constructor(
    message: string,
    wanted: SymbolsNeededError['wanted'],
    readonly tried: readonly TriedSource[],
  ) {
    super(message, wanted);
  }
}

function sameKernel(a: PdbIdentity, b: { guid: string; age: number }): boolean {
  return a.guid.toUpperCase() === b.guid.toUpperCase() && a.age === b.age;
}

const idText = (id: PdbIdentity) => `${id.name} ${id.guid}-${id.age}`;

function errText(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0];
}

/** Loads a candidate file and checks it is this kernel's; returns the layout or records why not. */
async function tryFile(
  path: string,
  kind: 'pdb' | 'isf',
  identity: PdbIdentity | undefined,
  build: number | undefined,
  step: TriedStep,
  tried: TriedSource[],
  explicit: boolean,
): Promise<KernelLayout | undefined> {
  try {
    let layout: KernelLayout;
    let fileId: PdbIdentity | undefined;
    if (kind === 'isf') {
      const types = new IsfTypes(loadIsfFile(path));
      layout = layoutFromIsf(types, { kind: 'isf', path }, build);
      fileId = layout.pdb;
    } else {
      layout = layoutFromPdbFile(path);
      fileId = layout.pdb;
    }
    if (identity && fileId && !sameKernel(identity, fileId)) {
      tried.push({ step, where: path, result: 'mismatch', detail: `holds ${fileId.guid}-${fileId.age}, the kernel is ${identity.guid}-${identity.age}` });
      return undefined;
    }
    if (identity && !fileId) {
      tried.push({ step, where: path, result: 'mismatch', detail: 'the file names no PDB GUID/age, so it cannot be matched to this kernel' });
      return undefined;
    }
    if (!layout.fields['EPROCESS.UniqueProcessId'] || !layout.fields['EPROCESS.ActiveProcessLinks']) {
      tried.push({ step, where: path, result: 'unusable', detail: 'no _EPROCESS layout in it (not a kernel PDB/ISF?)' });
      return undefined;
    }
    const detail = identity ? undefined : explicit ? 'kernel identity unknown: used as given, not verified against the kernel' : undefined;
    tried.push({ step, where: path, result: 'matched', ...(detail ? { detail } : {}) });
    return { ...layout, pdb: layout.pdb ?? identity, build: layout.build ?? build };
  } catch (e) {
    tried.push({ step, where: path, result: 'error', detail: errText(e) });
    return undefined;
  }
}

async function tryDirectory(
  dir: string,
  identity: PdbIdentity | undefined,
  build: number | undefined,
  step: TriedStep,
  tried: TriedSource[],
): Promise<KernelLayout | undefined> {
  if (!identity) {
    tried.push({ step, where: dir, result: 'skipped', detail: 'kernel PDB identity unknown, so no file name to look for' });
    return undefined;
  }
  const kind = sniffSymbolFile(dir);
  if (kind === 'missing') {
    tried.push({ step, where: dir, result: 'not-found', detail: 'directory does not exist' });
    return undefined;
  }
  const found: Candidate[] = findInDirectory(dir, identity);
  const usable = found.filter((c) => c.kind !== 'pdb-compressed');
  for (const c of usable) {
    const layout = await tryFile(c.path, c.kind as 'pdb' | 'isf', identity, build, step, tried, false);
    if (layout) return layout;
  }
  const cab = found.find((c) => c.kind === 'pdb-compressed');
  if (cab) {
    tried.push({ step, where: cab.path, result: 'unusable', detail: 'CAB-compressed PDB: expand it (cabextract) next to it as ' + identity.name });
  } else if (usable.length === 0) {
    tried.push({ step, where: dir, result: 'not-found', detail: `no ${storeRelPath(identity)} or ${isfRelPath(identity)}` });
  }
  return undefined;
}

/**
 * Finds the kernel layout for `identity` (from the kernel's RSDS record; undefined when it could
 * not be read) and `build` (from the dump header or KUSER_SHARED_DATA), in the documented order.
 * Throws KernelSymbolsNeededError when no source has it.
 */
export async function resolveSymbols(identity: PdbIdentity | undefined, build: number | undefined, opts: ResolveOptions = {}): Promise<ResolvedSymbols> {
  const tried: TriedSource[] = [];
  const cacheDir = opts.cacheDir ?? defaultSymbolCache();
  const done = (layout: KernelLayout, source: string, exact: boolean): ResolvedSymbols => {
    log().info({ source, exact }, 'kernel symbols resolved');
    return { layout, source, exact, tried };
  };

  // 1. --symbols
  for (const p of opts.symbols ?? []) {
    const kind = sniffSymbolFile(p);
    if (kind === 'missing') {
      tried.push({ step: 'symbols', where: p, result: 'not-found', detail: 'no such file or directory' });
      continue;
    }
    if (kind === 'directory') {
      const l = await tryDirectory(p, identity, build, 'symbols', tried);
      if (l) return done(l, `${l.source.kind} ${sourcePath(l)} (--symbols directory)`, !!identity);
      continue;
    }
    if (kind === 'unknown') {
      tried.push({ step: 'symbols', where: p, result: 'unusable', detail: 'neither a PDB (MSF 7.0) nor an ISF (.json/.json.xz/.json.gz)' });
      continue;
    }
    const l = await tryFile(p, kind, identity, build, 'symbols', tried, true);
    if (l) return done(l, `${kind} ${p} (--symbols)`, !!identity);
  }

  // 2. _NT_SYMBOL_PATH, then our cache
  const servers: { url: string; store: string }[] = [];
  const ntPath = opts.ntSymbolPath ?? process.env._NT_SYMBOL_PATH ?? '';
  const searched = new Set<string>();
  for (const e of parseNtSymbolPath(ntPath, cacheDir)) {
    const dirs = e.kind === 'srv' ? e.stores : [e.path];
    for (const d of dirs) {
      if (searched.has(d)) continue;
      searched.add(d);
      const l = await tryDirectory(d, identity, build, 'nt-symbol-path', tried);
      if (l) return done(l, `${l.source.kind} ${sourcePath(l)} (_NT_SYMBOL_PATH)`, true);
    }
    if (e.kind === 'srv' && e.url) servers.push({ url: e.url, store: e.stores[0] });
  }
  if (!searched.has(cacheDir)) {
    const l = await tryDirectory(cacheDir, identity, build, 'cache', tried);
    if (l) return done(l, `${l.source.kind} ${sourcePath(l)} (download cache)`, true);
  }

  // 3. built-in table, exact kernel
  const useBuiltin = opts.builtin !== false;
  if (useBuiltin && identity) {
    const b = builtinByPdb(identity.guid, identity.age);
    if (b) {
      tried.push({ step: 'builtin', where: `built-in table ${identity.guid}-${identity.age}`, result: 'matched', detail: b.version ? `ntoskrnl ${b.version}` : undefined });
      return done({ ...b, build: b.build ?? build }, `built-in table, exact kernel ${identity.guid}-${identity.age}${b.version ? ` (${b.version})` : ''}`, true);
    }
    tried.push({ step: 'builtin', where: `built-in table ${identity.guid}-${identity.age}`, result: 'not-found' });
  } else if (useBuiltin) {
    tried.push({ step: 'builtin', where: 'built-in table by GUID-age', result: 'skipped', detail: 'kernel PDB identity unknown' });
  }

  // 3b. built-in table, kernel identified by the RVAs the dump shows (only when the RSDS was unreadable:
  // a known GUID that the table lacks is another kernel, whatever its RVAs)
  const rvas = Object.entries(opts.observedRvas ?? {}).filter(([, v]) => v !== undefined);
  if (useBuiltin && !identity && rvas.length >= 2) {
    const names = rvas.map(([k]) => k).join(', ');
    const hits = builtinByRvas(opts.observedRvas!);
    if (hits.length === 1) {
      const [guid, age] = hits[0].split('-');
      const b = builtinByPdb(guid, Number(age))!;
      const agrees = build === undefined || b.build === undefined || b.build === build;
      if (agrees) {
        tried.push({ step: 'builtin-rva', where: `built-in table ${hits[0]}`, result: 'matched', detail: `the only kernel of ${tableSize()} whose ${names} RVAs equal the dump's${b.version ? ` (${b.version})` : ''}; identified by RVAs, not by GUID` });
        return done(
          { ...b, source: { kind: 'builtin', key: hits[0], exact: false }, build: b.build ?? build },
          `built-in table, kernel ${hits[0]}${b.version ? ` (${b.version})` : ''} identified by ${rvas.length} symbol RVAs (not by GUID)`,
          false,
        );
      }
      tried.push({ step: 'builtin-rva', where: `built-in table ${hits[0]}`, result: 'mismatch', detail: `its RVAs match but it is build ${b.build}, the dump says ${build}` });
    } else {
      tried.push({ step: 'builtin-rva', where: `built-in table by ${names} RVAs`, result: 'not-found', detail: hits.length ? `${hits.length} kernels match: ambiguous` : 'no kernel has these RVAs' });
    }
  }

  // 4. a server the user named
  if (opts.symbolServer) servers.unshift({ url: opts.symbolServer, store: cacheDir });
  if (servers.length === 0) {
    tried.push({ step: 'server', where: '(none named)', result: 'skipped', detail: 'no download without --symbol-server URL or a srv*…*URL entry in _NT_SYMBOL_PATH' });
  } else if (!identity) {
    tried.push({ step: 'server', where: servers.map((s) => s.url).join(', '), result: 'skipped', detail: 'kernel PDB identity unknown, nothing to ask for' });
  } else {
    for (const s of servers) {
      const r = await downloadPdb(s.url, identity, s.store, { timeoutMs: opts.downloadTimeoutMs });
      if (!r.ok) {
        tried.push({ step: 'server', where: r.url, result: 'not-found', detail: r.reason });
        continue;
      }
      tried.push({ step: 'server', where: r.url, result: 'matched', detail: `downloaded ${r.bytes} bytes to ${r.path}` });
      const l = await tryFile(r.path!, 'pdb', identity, build, 'server', tried, false);
      if (l) return done(l, `pdb ${r.path} (downloaded from ${r.url})`, true);
      // A downloaded file that is not this kernel's PDB must not satisfy the next lookup.
      if (tried[tried.length - 1]?.result === 'mismatch') discardCached(r.path!);
    }
  }

  // 5. built-in table, same build (offsets only)
  if (useBuiltin && build !== undefined) {
    const b = builtinByBuild(build);
    if (b) {
      const key = b.source.kind === 'builtin' ? b.source.key : `build:${build}`;
      tried.push({ step: 'builtin-build', where: `built-in table ${key}`, result: 'matched', detail: 'offsets and sizes of the same build; no symbol RVAs; not this exact kernel' });
      return done({ ...b, pdb: identity }, `built-in table, ${key} (offsets only, not exact)`, false);
    }
    tried.push({ step: 'builtin-build', where: `built-in table build:${build}`, result: 'not-found' });
  } else if (useBuiltin) {
    tried.push({ step: 'builtin-build', where: 'built-in table by build', result: 'skipped', detail: 'build number unknown' });
  }

  throw symbolsNeeded(identity, build, opts.symbolServer, tried);
}

function tableSize(): number {
  return tableSummary().kernels;
}

function sourcePath(l: KernelLayout): string {
  return l.source.kind === 'isf' || l.source.kind === 'pdb' ? l.source.path : l.source.kind;
}

/** What to fetch, for the error and for `symbols which`. */
export function wantedFor(identity: PdbIdentity, server?: string): SymbolsNeededError['wanted'] {
  return {
    pdbName: identity.name,
    guid: identity.guid,
    age: identity.age,
    storePath: storeRelPath(identity),
    isfPath: isfRelPath(identity),
    url: symbolServerUrl(server ?? MICROSOFT_SYMBOL_SERVER, identity),
  };
}

function symbolsNeeded(identity: PdbIdentity | undefined, build: number | undefined, server: string | undefined, tried: TriedSource[]): VsmError {
  if (!identity) {
    return new KernelSymbolsNeededError(
      `no kernel symbols: the kernel's PDB identity could not be read${build !== undefined ? ` and the built-in table has no build ${build}` : ' and the build is unknown'}; pass --symbols with the kernel's PDB or ISF`,
      { pdbName: 'ntkrnlmp.pdb', guid: '', age: 0, storePath: '', isfPath: '' },
      tried,
    );
  }
  const w = wantedFor(identity, server);
  return new KernelSymbolsNeededError(
    `no symbols for ${idText(identity)}${build !== undefined ? ` (build ${build})` : ''}: fetch ${w.url} and pass it with --symbols, or put it in a symbol store as ${w.storePath}, or an ISF as ${w.isfPath}`,
    w,
    tried,
  );
}

export interface KernelLayoutResult extends ResolvedSymbols {
  /** The discovery with PsActiveProcessHead etc. filled from symbols or inference where the dump lacked them. */
  readonly kernel: KernelDiscovery;
  /** Present when the data was used: offsets inferred (no symbols), or the list head found in a raw image. */
  readonly inference?: Inference;
}

/**
 * The whole chain for a discovered kernel: resolveSymbols (with the RVAs the dump shows), then the
 * kernel globals from the symbol RVAs; when no source has symbols, offsets inferred from the data
 * (every such field marked inferred). A raw image matched only by build has no RVAs, so its list
 * head is found from the data too. Throws KernelSymbolsNeededError when inference fails as well.
 */
export async function resolveKernelLayout(k: KernelDiscovery, opts: ResolveOptions = {}): Promise<KernelLayoutResult> {
  let resolved: ResolvedSymbols;
  try {
    resolved = await resolveSymbols(k.pdb, k.build, { ...opts, observedRvas: opts.observedRvas ?? observedRvas(k) });
  } catch (e) {
    if (!(e instanceof KernelSymbolsNeededError)) throw e;
    const inf = inferLayout(k);
    const tried = [...e.tried];
    if (!inf.layout) {
      tried.push({ step: 'inferred', where: 'the dump\'s own data', result: 'not-found', detail: inf.failure });
      throw new KernelSymbolsNeededError(e.message, e.wanted, tried);
    }
    tried.push({ step: 'inferred', where: 'the dump\'s own data', result: 'matched', detail: `${Object.keys(inf.layout.fields).length} offsets inferred from ${inf.processes.length} listed processes` });
    log().warn({ refused: inf.refused }, 'no symbols: offsets inferred from the data');
    return {
      layout: inf.layout,
      source: `inferred from the data (${inf.layout.source.kind === 'inferred' ? inf.layout.source.method : ''}); no symbols for ${k.pdb ? idText(k.pdb) : 'this kernel'}`,
      exact: false,
      tried,
      kernel: { ...k, psActiveProcessHead: k.psActiveProcessHead ?? inf.psActiveProcessHead },
      inference: inf,
    };
  }
  const checked = checkSameBuildLayout(k, resolved);
  if (checked) return checked;
  let kernel = applySymbols(k, resolved.layout, resolved.exact || resolved.layout.source.kind === 'builtin');
  let inference: Inference | undefined;
  if (kernel.psActiveProcessHead === undefined && kernel.vm) {
    // Offsets but no RVAs (a raw image matched by build): find the list head from the data.
    inference = inferLayout(kernel);
    if (inference.psActiveProcessHead !== undefined) {
      kernel = { ...kernel, psActiveProcessHead: inference.psActiveProcessHead, evidence: [...kernel.evidence, `PsActiveProcessHead ${`0x${inference.psActiveProcessHead.toString(16)}`} found from the data (no symbol RVA)`] };
      const f = inference.layout?.fields;
      const disagree = f ? (Object.keys(f) as (keyof typeof f)[]).filter((key) => resolved.layout.fields[key] && resolved.layout.fields[key]!.offset !== f[key]!.offset) : [];
      if (disagree.length) kernel = { ...kernel, problems: [...kernel.problems, `the data disagrees with the ${resolved.source} on ${disagree.join(', ')}`] };
    }
  }
  return { ...resolved, kernel, inference };
}

/** The offsets a list walk stands on: a same-build table entry that disagrees on one of these is not this kernel's layout. */
const LIST_WALK_FIELDS = ['EPROCESS.UniqueProcessId', 'EPROCESS.ActiveProcessLinks', 'EPROCESS.ImageFileName', 'KPROCESS.DirectoryTableBase'] as const;

/**
 * A layout taken from the table only because the build number matches (not this kernel's GUID) is
 * checked against the data when the dump names its list head: if the offsets the data gives for the
 * list walk differ (a patched or rebuilt kernel of the same build), the table entry is refused and
 * the inferred layout is used instead. Undefined when the table entry stands (or cannot be checked).
 */
function checkSameBuildLayout(k: KernelDiscovery, resolved: ResolvedSymbols): KernelLayoutResult | undefined {
  const last = resolved.tried[resolved.tried.length - 1];
  if (resolved.exact || last?.step !== 'builtin-build' || last.result !== 'matched' || !k.vm || k.psActiveProcessHead === undefined) return undefined;
  const inf = inferLayout(k);
  if (!inf.layout) return undefined;
  const f = inf.layout.fields;
  const disagree = LIST_WALK_FIELDS.filter((key) => f[key] !== undefined && resolved.layout.fields[key] !== undefined && f[key]!.offset !== resolved.layout.fields[key]!.offset);
  if (disagree.length === 0) return undefined;
  const tried: TriedSource[] = [
    ...resolved.tried.slice(0, -1),
    { ...last, result: 'mismatch', detail: `same build, but the data walks the process list with other offsets (${disagree.map((key) => `${key} +0x${f[key]!.offset.toString(16)}, table +0x${resolved.layout.fields[key]!.offset.toString(16)}`).join('; ')}): not this kernel's layout` },
    { step: 'inferred', where: 'the dump\'s own data', result: 'matched', detail: `${Object.keys(f).length} offsets inferred from ${inf.processes.length} listed processes` },
  ];
  log().warn({ refused: inf.refused, disagree }, 'same-build table layout contradicted by the data: offsets inferred from the data');
  return {
    layout: inf.layout,
    source: `inferred from the data (${inf.layout.source.kind === 'inferred' ? inf.layout.source.method : ''}); the same-build table entry disagrees with the data; no symbols for ${k.pdb ? idText(k.pdb) : 'this kernel'}`,
    exact: false,
    tried,
    kernel: k,
    inference: inf,
  };
}
