// `vsm-forensics symbols which <dump> [--symbols P]… [--symbol-server URL] [--json]`: the kernel's
// PDB name, GUID and age, kernel base and build, every symbol source tried with its result, and on
// a miss the exact file, store path, ISF path and URL to fetch (exit code 4, distinct from bad
// input's 2). Text by default; --json prints one object (addresses as "0x…" strings).
import { openDump } from '../dump/open.ts';
import { hexOrNull } from '../dump/numbers.ts';
import { ExitCode } from '../errors.ts';
import { inferLayout } from '../ntos/infer.ts';
import { discoverKernel, observedRvas, type KernelDiscovery } from '../ntos/kernel.ts';
import { layoutTableLoadMs, tableSummary } from '../ntos/layout-table.ts';
import { MICROSOFT_SYMBOL_SERVER, type PdbIdentity } from '../ntos/symbol-store.ts';
import { KernelSymbolsNeededError, resolveSymbols, wantedFor, type ResolvedSymbols, type TriedSource } from '../ntos/symbols.ts';
import { applySymbols } from '../ntos/kernel.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';
import type { Argv } from 'yargs';
import { SYMBOL_OPTIONS, checkInputPath, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';


export interface WhichReport {
  dump: { path: string; format: string; formatName: string };
  kernel: {
    pdb: PdbIdentity | null;
    base: string | null;
    size: number | null;
    build: number | null;
    dtb: string;
    psActiveProcessHead: string | null;
    psLoadedModuleList: string | null;
    kdDebuggerDataBlock: string | null;
    /** The kernel image's own symbol-server path (when its PE header was readable). */
    imageStorePath: string | null;
    method: string;
    evidence: string[];
    problems: string[];
  };
  symbols: {
    found: boolean;
    exact: boolean;
    source: string | null;
    layout: { kind: string; key?: string; path?: string; version?: string; build?: number } | null;
    tried: TriedSource[];
    /** On a miss: what to fetch and where it goes. */
    missing: { pdbName: string; guid: string; age: number; storePath: string; isfPath: string; url: string } | null;
    table: { kernels: number; builds: number[]; loadMs: number };
  };
  /** On a miss: what `analyze` could still derive from the data, and what it would refuse to guess. */
  inference: { possible: boolean; fields: string[]; refused: string[]; failure: string | null } | null;
}

export const WHICH_OPTIONS = {
  ...SYMBOL_OPTIONS,
  json: { type: 'boolean', default: false, describe: 'Print one JSON object on stdout' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .positional('dump', { type: 'string', demandOption: true, describe: 'Memory dump whose kernel to identify' })
    .options(WHICH_OPTIONS)
    .check(tableCheck(WHICH_OPTIONS))
    .example('$0 symbols which memory.dmp', 'PDB name, GUID and age; where its symbols were found, or what to fetch')
    .example('$0 symbols which memory.dmp --symbols ~/symbols --json', 'look in a symbol directory; JSON');

export type WhichArgs = ArgvOf<typeof builder>;

/** What runWhich() reads (the CLI's parsed arguments, or the fuzzer's own). */
export interface WhichInput {
  readonly dump: string;
  readonly symbols?: readonly string[];
  readonly symbolServer?: string;
  readonly json?: boolean;
}

export const whichCommand = {
  command: 'which <dump>',
  describe: "Print the kernel's PDB name, GUID and age, and where its symbols were found (or what to fetch)",
  builder,
  handler: exitWith((a: WhichArgs) => runWhich(a)),
};

export async function runWhich(argv: WhichInput): Promise<number> {
  const path = argv.dump;
  for (const s of argv.symbols ?? []) checkInputPath('symbols', s);
  const symbols = [...(argv.symbols ?? [])];
  const server = argv.symbolServer;
  const dump = openDump(path);
  let report: WhichReport;
  try {
    const k = discoverKernel(dump);
    report = await which(k, dump, { symbols, symbolServer: server });
  } finally {
    dump.close();
  }
  process.stdout.write(argv.json ? jsonStringify(report, 2) + '\n' : renderText(report));
  return report.symbols.found ? ExitCode.Ok : ExitCode.SymbolsNeeded;
}

/** What to fetch, with its URL ('' when there is none to give). */
function withUrl(w: KernelSymbolsNeededError['wanted']): NonNullable<WhichReport['symbols']['missing']> {
  return { ...w, url: w.url ?? '' };
}

export async function which(
  k: KernelDiscovery,
  dump: { path: string; format: string; formatName: string },
  opts: { symbols?: string[]; symbolServer?: string; ntSymbolPath?: string; cacheDir?: string },
): Promise<WhichReport> {
  let resolved: ResolvedSymbols | undefined;
  let miss: KernelSymbolsNeededError | undefined;
  try {
    resolved = await resolveSymbols(k.pdb, k.build, { ...opts, observedRvas: observedRvas(k) });
  } catch (e) {
    if (!(e instanceof KernelSymbolsNeededError)) throw e;
    miss = e;
  }
  const kernel = resolved ? applySymbols(k, resolved.layout, resolved.exact) : k;
  let inference: WhichReport['inference'] = null;
  if (miss) {
    const inf = inferLayout(k);
    inference = {
      possible: !!inf.layout,
      fields: inf.layout ? Object.keys(inf.layout.fields) : [],
      refused: [...inf.refused],
      failure: inf.failure ?? null,
    };
  }
  const table = tableSummary();
  const src = resolved?.layout.source;
  return {
    dump: { path: dump.path, format: dump.format, formatName: dump.formatName },
    kernel: {
      pdb: k.pdb ?? null,
      base: hexOrNull(k.kernelBase),
      size: k.kernelSize ?? null,
      build: k.build ?? null,
      dtb: hexOrNull(k.dtb)!,
      psActiveProcessHead: hexOrNull(kernel.psActiveProcessHead),
      psLoadedModuleList: hexOrNull(kernel.psLoadedModuleList),
      kdDebuggerDataBlock: hexOrNull(kernel.kdbg),
      imageStorePath: k.pe?.imageStorePath ?? null,
      method: k.method,
      evidence: [...kernel.evidence],
      problems: [...kernel.problems],
    },
    symbols: {
      found: !!resolved,
      exact: resolved?.exact ?? false,
      source: resolved?.source ?? null,
      layout: src
        ? {
            kind: src.kind,
            ...(src.kind === 'builtin' ? { key: src.key } : src.kind === 'isf' || src.kind === 'pdb' ? { path: src.path } : {}),
            ...(resolved!.layout.version ? { version: resolved!.layout.version } : {}),
            ...(resolved!.layout.build !== undefined ? { build: resolved!.layout.build } : {}),
          }
        : null,
      tried: [...(resolved?.tried ?? miss?.tried ?? [])],
      missing: miss ? withUrl(k.pdb ? wantedFor(k.pdb, opts.symbolServer) : miss.wanted) : null,
      table: { kernels: table.kernels, builds: table.builds, loadMs: Math.round(layoutTableLoadMs() * 10) / 10 },
    },
    inference,
  };
}

export function renderText(r: WhichReport): string {
  const t = terminalText;
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`  ${label.padEnd(21)} ${value}`);
  out.push(`Kernel of ${t(r.dump.path)} (${r.dump.formatName})`);
  const k = r.kernel;
  row('PDB', k.pdb ? `${t(k.pdb.name)}  GUID ${k.pdb.guid}  age ${k.pdb.age}` : 'unknown (the kernel\'s RSDS record could not be read; see below)');
  row('kernel base', k.base ? `${k.base}${k.size ? ` (SizeOfImage 0x${k.size.toString(16)})` : ''}` : 'unknown');
  row('build', k.build !== null ? String(k.build) : 'unknown');
  row('DTB', k.dtb);
  row('PsActiveProcessHead', k.psActiveProcessHead ?? 'unknown');
  row('PsLoadedModuleList', k.psLoadedModuleList ?? 'unknown');
  row('KdDebuggerDataBlock', k.kdDebuggerDataBlock ?? 'unknown');
  row('found by', k.method);
  if (k.imageStorePath && !k.pdb) row('kernel image', `${k.imageStorePath} on a symbol server (its debug directory names the PDB)`);
  if (k.evidence.length) {
    out.push('  evidence:');
    for (const e of k.evidence) out.push(`    - ${t(e)}`);
  }
  if (k.problems.length) {
    out.push('  could not read:');
    for (const p of k.problems) out.push(`    - ${t(p)}`);
  }
  out.push('');
  out.push(`Symbols (built-in table: ${r.symbols.table.kernels} kernels, builds ${r.symbols.table.builds.join(', ')})`);
  r.symbols.tried.forEach((x, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${x.step.padEnd(15)} ${x.result.padEnd(9)} ${t(x.where)}${x.detail ? ` — ${t(x.detail)}` : ''}`);
  });
  if (r.symbols.found) {
    out.push(`  => ${t(r.symbols.source ?? '')}${r.symbols.exact ? '' : '  [not matched by GUID-age: see above]'}`);
  } else {
    const m = r.symbols.missing!;
    out.push('  => no symbols for this kernel. Fetch one of:');
    if (m.guid) {
      out.push(`       file         ${m.pdbName}`);
      out.push(`       URL          ${m.url}`);
      out.push(`       store path   ${m.storePath}   (under a --symbols or _NT_SYMBOL_PATH directory)`);
      out.push(`       ISF path     ${m.isfPath}   (Volatility 3 layout, e.g. from symbols convert)`);
      if (m.url.startsWith(MICROSOFT_SYMBOL_SERVER)) out.push('     or let us download it: --symbol-server https://msdl.microsoft.com/download/symbols');
    } else {
      out.push(`       the kernel's PDB (${m.pdbName}): its GUID is unknown, so pass it with --symbols`);
    }
    if (r.inference) {
      out.push(
        r.inference.possible
          ? `  Without symbols, analyze infers ${r.inference.fields.length} offsets from the data (${r.inference.fields.join(', ')}), marked inferred.`
          : `  Offsets cannot be inferred from the data either: ${t(r.inference.failure ?? '')}`,
      );
      for (const x of r.inference.refused) out.push(`    - ${t(x)}`);
    }
  }
  return out.join('\n') + '\n';
}
