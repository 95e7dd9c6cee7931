// Seeds for the process-walks target: a small hand-made kernel (test/helpers/walk-fixture.ts) with
// processes that own threads and APC queues, a level-1 handle table, a token, a VAD tree and a
// loaded-module list, serialised as a WALKSEED header followed by its physical pages. Mutations hit
// the pages (pointers, counts, bitfields) and the header (DTB, the EPROCESS addresses).
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { MM_EXECUTE_READWRITE, MM_EXECUTE_WRITECOPY } from '../src/ntos/page-protection.ts';
import { WalkFixture } from '../test/helpers/walk-fixture.ts';
import { scanQwords } from './dump-seeds.ts';
import type { Field, Seed } from './mutators.ts';

const PAGE = 4096;
export const WALK_SEED_MAGIC = 'WALKSEED';
/** Header: magic[8] guid[32] dtb u64 kernelBase u64 modules u64 firstPfn u32 pageCount u32 processCount u32, then EPROCESS VAs (u64 each). */
export const WALK_SEED_HEADER = 0x1000;
export const WALK_SEED_MAX_PAGES = 8192;
export const WALK_SEED_MAX_PROCESSES = 64;

export interface WalkSeedHeader {
  guid: string;
  dtb: bigint;
  kernelBase: bigint;
  modules: bigint;
  firstPfn: number;
  pageCount: number;
  processes: bigint[];
}

function build(guid: string): Seed {
  const layout = builtinByPdb(guid, 1)!;
  const fx = new WalkFixture(layout);
  const iso = fx.addProcess({ pid: 720, ppid: 600, name: 'LsaIso.exe' });
  const tool = fx.addProcess({ pid: 4242, ppid: 900, name: 'tool.exe' });
  fx.link();
  const ths = [724, 728].map((tid) => fx.thread(iso, { tid, start: 0x7ff6a0001000n, win32Start: 0x1d0000n }));
  fx.linkThreads(iso, ths);
  fx.queueApcs(ths[0], 0, [fx.apc(0, 0xfffff80055550000n, 0n)]);
  fx.queueApcs(ths[1], 1, [fx.apc(1, 0xfffff80000010000n, 0x1d0040n), fx.apc(1, 0xfffff80000010000n, 0x1d0080n)]);
  const ev = fx.object('Event', 0x18, 'Global\\Seed');
  fx.handleTable(tool, 1, new Map([[4, { body: iso.va, access: 0x1fffff }], [8, { body: ths[0], access: 0x1a }], [12, { body: ev, access: 0x1f0003 }], [0x404, { body: ev, access: 1 }]]));
  for (const p of [iso, tool]) {
    fx.token(p, { groups: [['S-1-5-18', 0], ['S-1-5-32-544', 0xf], ['S-1-16-16384', 0x60]], integrityIndex: 2, present: 0x1ff0n, enabled: 0x100n, byDefault: 0x100n, package: 'S-1-15-2-1-2-3-4-5-6-7' });
  }
  fx.vads(iso, [
    { start: 0x7ff6a0000000n, end: 0x7ff6a0012fffn, protection: MM_EXECUTE_WRITECOPY, private: false, file: '\\Windows\\System32\\lsaiso.exe' },
    { start: 0x1d0000n, end: 0x1d0fffn, protection: MM_EXECUTE_READWRITE, private: true, commit: 1 },
  ]);
  const modules = fx.modules([{ base: 0xfffff80055550000n, size: 0x20000, name: 'evil.sys', path: '\\??\\C:\\evil.sys' }]);
  const pfns = [...fx.m.phys.pages.keys()].sort((a, b) => a - b);
  const first = pfns[0];
  const count = pfns[pfns.length - 1] - first + 1;
  const data = Buffer.alloc(WALK_SEED_HEADER + count * PAGE);
  data.write(WALK_SEED_MAGIC, 0, 'latin1');
  data.write(guid, 8, 'latin1');
  data.writeBigUInt64LE(BigInt(fx.m.kernelDtb), 40);
  data.writeBigUInt64LE(0xfffff80000000000n, 48);
  data.writeBigUInt64LE(modules, 56);
  data.writeUInt32LE(first, 64);
  data.writeUInt32LE(count, 68);
  const procs = [iso, tool];
  data.writeUInt32LE(procs.length, 72);
  procs.forEach((p, i) => data.writeBigUInt64LE(p.va, 80 + 8 * i));
  for (const [pfn, page] of fx.m.phys.pages) page.copy(data, WALK_SEED_HEADER + (pfn - first) * PAGE);
  const fields: Field[] = [
    { at: 40, size: 8, name: 'dtb' },
    { at: 56, size: 8, name: 'modules' },
    { at: 68, size: 4, name: 'pageCount' },
    { at: 72, size: 4, name: 'processCount' },
    { at: 80, size: 8, name: 'eprocess[0]' },
    { at: 88, size: 8, name: 'eprocess[1]' },
  ];
  const { pointers } = scanQwords(data, first + count, WALK_SEED_HEADER);
  return { name: `walks-${guid.slice(0, 8)}`, data, fields, hot: [[0, 96]], pointers };
}

export function walkSeeds(): Seed[] {
  return ['606FF669409B00F7FC8C61A9C1670129', 'DBBC830E3E9A48FDA25A2144C146930E'].map(build);
}

/** Parses a WALKSEED header; undefined when the input is not one (counts bounded). */
export function parseWalkSeed(b: Buffer): WalkSeedHeader | undefined {
  if (b.length < WALK_SEED_HEADER || b.toString('latin1', 0, 8) !== WALK_SEED_MAGIC) return undefined;
  const pageCount = Math.min(b.readUInt32LE(68), WALK_SEED_MAX_PAGES, Math.floor((b.length - WALK_SEED_HEADER) / PAGE));
  const n = Math.min(b.readUInt32LE(72), WALK_SEED_MAX_PROCESSES);
  const processes: bigint[] = [];
  for (let i = 0; i < n; i++) processes.push(b.readBigUInt64LE(80 + 8 * i));
  return { guid: b.toString('latin1', 8, 40), dtb: b.readBigUInt64LE(40), kernelBase: b.readBigUInt64LE(48), modules: b.readBigUInt64LE(56), firstPfn: b.readUInt32LE(64), pageCount, processes };
}
