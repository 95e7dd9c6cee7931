// The fuzz targets: seeds, mutators and the entry point each one drives.
import { crashBitmapSeeds, crashFullSeeds, crashRdmpSeeds, rawSeeds, triageSeeds } from './dump-seeds.ts';
import { BINARY_MUTATORS, DUMP_MUTATORS, JSON_MUTATORS, type MutatorSet, type Seed } from './mutators.ts';
import { sampleBitmapSeeds, sampleFullSeeds, sampleKernelSeeds, sampleRawSeeds } from './sample-seeds.ts';
import { isfSeeds, pdbSeeds, peSeeds } from './seeds.ts';
import { walkSeeds } from './walk-seeds.ts';

export interface Target {
  readonly name: string;
  /** Key into ENTRIES (entries.ts), run in the child. */
  readonly entry: 'isf' | 'pe' | 'pdb' | 'dump' | 'walks';
  readonly seeds: () => Seed[];
  readonly mutators: MutatorSet;
  /** File name extension of materialized inputs (ISF decoding sniffs content, not names). */
  readonly ext: string;
  /** Most edits per input. */
  readonly maxOps: number;
  readonly description: string;
}

export const TARGETS: readonly Target[] = [
  { name: 'isf', entry: 'isf', seeds: isfSeeds, mutators: JSON_MUTATORS, ext: '.json', maxOps: 4, description: 'ISF JSON (cut-down real kernel ISFs; xz and gzip forms)' },
  { name: 'pe', entry: 'pe', seeds: peSeeds, mutators: BINARY_MUTATORS, ext: '.exe', maxOps: 4, description: 'PE headers, sections, debug directory, RSDS' },
  { name: 'pdb', entry: 'pdb', seeds: pdbSeeds, mutators: BINARY_MUTATORS, ext: '.pdb', maxOps: 4, description: 'PDB: MSF directory, info, DBI, TPI, publics, ISF conversion' },
  { name: 'dump-full', entry: 'dump', seeds: () => [...crashFullSeeds(), ...sampleFullSeeds()], mutators: DUMP_MUTATORS, ext: '.dmp', maxOps: 6, description: 'crash dump DumpType 1: run table, paging, list, scan, analysis, reports' },
  { name: 'dump-bitmap', entry: 'dump', seeds: () => [...crashBitmapSeeds(), ...sampleBitmapSeeds()], mutators: DUMP_MUTATORS, ext: '.dmp', maxOps: 6, description: 'crash dump DumpType 5/6: bitmap header and bitmap' },
  { name: 'dump-rdmp', entry: 'dump', seeds: () => [...crashRdmpSeeds(), ...sampleKernelSeeds()], mutators: DUMP_MUTATORS, ext: '.dmp', maxOps: 6, description: 'crash dump DumpType 8/0xA: RDMP header and PFN ranges' },
  { name: 'dump-triage', entry: 'dump', seeds: triageSeeds, mutators: DUMP_MUTATORS, ext: '.dmp', maxOps: 6, description: 'real triage dumps (DumpType 4, x64 and ARM64)' },
  { name: 'dump-raw', entry: 'dump', seeds: () => [...rawSeeds(), ...sampleRawSeeds()], mutators: DUMP_MUTATORS, ext: '.raw', maxOps: 6, description: 'raw physical image: low stub, paging, discovery' },
  { name: 'process-walks', entry: 'walks', seeds: walkSeeds, mutators: DUMP_MUTATORS, ext: '.bin', maxOps: 6, description: 'threads, APC queues, handle tables, tokens, VADs, loaded modules, extended flags over a small kernel image' },
];

export function targetByName(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
