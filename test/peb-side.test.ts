// The PEB-side readers (issue 14) over hand-made memory laid out with every real ISF layout:
// process parameters, environment block, loader list, \GLOBAL?? drive letters, KUSER_SHARED_DATA.
import test from 'ava';
import { KUSER_SHARED_DATA } from '../src/ntos/kernel.ts';
import { readEnvironment, MAX_ENVIRONMENT_BYTES } from '../src/ntos/environment.ts';
import { readKuserFacts } from '../src/ntos/kuser.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import type { KernelLayout, LayoutFieldKey } from '../src/ntos/layout.ts';
import { walkLoadedModules } from '../src/ntos/ldr.ts';
import { listDirectory, readDriveLetters, toDosPath } from '../src/ntos/object-directory.ts';
import { readProcessParameters } from '../src/ntos/process-params.ts';
import { FakeMachine } from './helpers/fake-machine.ts';

const REAL_LAYOUTS = [
  'DBBC830E3E9A48FDA25A2144C146930E-1',
  '1D4090613BF97F9B9529992E20E93897-1',
  'DCA4AD4BEEB4746D48F84C0125019E43-1',
  '5278AFF86C341677D7D7835C85B7B844-1',
  '606FF669409B00F7FC8C61A9C1670129-1',
  'B3ED6FA26A1FD6DF6A34DF3B125CAFE8-1',
  '0CE4A95C0CD782A7596B034D8648E585-1',
];
const layoutOf = (key: string) => builtinByPdb(key.slice(0, 32), Number(key.slice(33)))!;

/** Writes values into one process's (or the kernel's) memory at layout offsets. */
class Mem {
  private next: bigint;
  constructor(
    readonly m: FakeMachine,
    readonly dtb: number,
    readonly layout: KernelLayout,
    start: bigint,
  ) {
    this.next = start;
  }
  alloc(bytes: number): bigint {
    const va = this.next;
    this.next += BigInt((bytes + 0xfff) & ~0xfff);
    this.m.writeVirt(this.dtb, va, Buffer.alloc(bytes));
    return va;
  }
  u64(va: bigint, v: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    this.m.writeVirt(this.dtb, va, b);
  }
  u32(va: bigint, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.m.writeVirt(this.dtb, va, b);
  }
  bytes(va: bigint, b: Buffer): void {
    this.m.writeVirt(this.dtb, va, b);
  }
  off(key: LayoutFieldKey): bigint {
    return BigInt(this.layout.fields[key]!.offset);
  }
  /** A UNICODE_STRING at `at` pointing at a fresh buffer holding `text`. */
  ustr(at: bigint, text: string): void {
    const data = Buffer.from(text, 'utf16le');
    const buf = this.alloc(data.length + 2);
    this.bytes(buf, data);
    const h = Buffer.alloc(16);
    h.writeUInt16LE(data.length, 0);
    h.writeUInt16LE(data.length + 2, 2);
    h.writeBigUInt64LE(buf, 8);
    this.bytes(at, h);
  }
}

const ENV = ['=C:=C:\\Users\\jdoe', 'ALLUSERSPROFILE=C:\\ProgramData', 'COMPUTERNAME=WS-FIN-0142', 'Path=C:\\Windows\\system32', 'USERNAME=jdoe', 'userdomain=CORP', 'API_TOKEN=secret-value'];

function userProcess(layout: KernelLayout, opts: { dlls?: string[]; loop?: boolean; envSize?: number } = {}) {
  const m = new FakeMachine();
  const dtb = m.newSpace();
  const u = new Mem(m, dtb, layout, 0x7ff700000000n);
  const peb = u.alloc(0x1000);
  const params = u.alloc(0x1000);
  u.u64(peb + u.off('PEB.ProcessParameters'), params);
  u.ustr(params + u.off('RTL_USER_PROCESS_PARAMETERS.CommandLine'), '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoProfile');
  u.ustr(params + u.off('RTL_USER_PROCESS_PARAMETERS.ImagePathName'), 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
  u.ustr(params + u.off('RTL_USER_PROCESS_PARAMETERS.CurrentDirectory'), 'C:\\Users\\jdoe\\');
  const block = Buffer.from(ENV.join('\0') + '\0\0', 'utf16le');
  const env = u.alloc(block.length);
  u.bytes(env, block);
  u.u64(params + u.off('RTL_USER_PROCESS_PARAMETERS.Environment'), env);
  u.u64(params + u.off('RTL_USER_PROCESS_PARAMETERS.EnvironmentSize'), BigInt(opts.envSize ?? block.length));
  // Loader list: PEB_LDR_DATA with its head, entries linked in load order.
  const ldr = u.alloc(0x100);
  u.u64(peb + u.off('PEB.Ldr'), ldr);
  const head = ldr + u.off('PEB_LDR_DATA.InLoadOrderModuleList');
  const entries = (opts.dlls ?? []).map((path, i) => {
    const e = u.alloc(layout.sizes._LDR_DATA_TABLE_ENTRY!);
    u.u64(e + u.off('LDR_DATA_TABLE_ENTRY.DllBase'), 0x7ffb00000000n + BigInt(i) * 0x100000n);
    u.u32(e + u.off('LDR_DATA_TABLE_ENTRY.SizeOfImage'), 0x1000 * (i + 1));
    u.ustr(e + u.off('LDR_DATA_TABLE_ENTRY.FullDllName'), path);
    return e + u.off('LDR_DATA_TABLE_ENTRY.InLoadOrderLinks');
  });
  const chain = [head, ...entries];
  chain.forEach((link, i) => {
    const next = opts.loop && i === chain.length - 1 ? entries[0] : chain[(i + 1) % chain.length];
    u.u64(link, next);
    u.u64(link + 8n, chain[(i + chain.length - 1) % chain.length]);
  });
  return { m, vm: m.vm(dtb), peb, env, u };
}

for (const key of REAL_LAYOUTS) {
  test(`process parameters, environment and loader list with layout ${key}`, (t) => {
    const layout = layoutOf(key);
    const dlls = ['C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'C:\\Windows\\SYSTEM32\\ntdll.dll', 'C:\\Windows\\System32\\KERNEL32.DLL'];
    const { vm, peb } = userProcess(layout, { dlls });
    const p = readProcessParameters(vm, layout, peb);
    t.is(p.commandLine?.text, '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoProfile');
    t.is(p.imagePathName?.text, 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    t.is(p.currentDirectory?.text, 'C:\\Users\\jdoe\\');
    t.deepEqual(p.reasons, {});
    t.truthy(p.environment);
    const env = readEnvironment(vm, p.environment!.va, p.environment!.size);
    t.true(env.complete);
    t.is(env.count, ENV.length);
    // Only the kept variables, spelled as documented; a secret-looking one is never copied.
    t.deepEqual(env.vars, { COMPUTERNAME: 'WS-FIN-0142', USERNAME: 'jdoe', USERDOMAIN: 'CORP' });
    const w = walkLoadedModules(vm, layout, peb);
    t.true(w.complete);
    t.deepEqual(w.modules.map((x) => x.path), dlls);
    t.deepEqual(w.modules.map((x) => x.size), [0x1000, 0x2000, 0x3000]);
    t.is(w.modules[1].base, 0x7ffb00100000n);
  });
}

test('loader list that loops stops, marked, with what it read', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const { vm, peb } = userProcess(layout, { dlls: ['a.dll', 'b.dll', 'c.dll'], loop: true });
  const w = walkLoadedModules(vm, layout, peb);
  t.false(w.complete);
  t.regex(w.reason!, /loops/);
  t.deepEqual(w.modules.map((x) => x.path), ['a.dll', 'b.dll', 'c.dll']);
});

test('loader list longer than the cap stops at the cap', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const { vm, peb } = userProcess(layout, { dlls: ['a.dll', 'b.dll', 'c.dll', 'd.dll'] });
  const w = walkLoadedModules(vm, layout, peb, 2);
  t.true(w.capHit);
  t.is(w.modules.length, 2);
});

test('unreadable PEB, parameters or environment: null with a reason, never a throw', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const { vm, peb, u } = userProcess(layout);
  t.regex(readProcessParameters(vm, layout, 0x7ff800000000n).reasons.commandLine, /PEB page is not in the dump/);
  t.regex(readProcessParameters(vm, layout, 0xfffff80000000000n).reasons.environment, /not a user-mode address/);
  // Parameters pointer into unmapped memory.
  u.u64(peb + u.off('PEB.ProcessParameters'), 0x12340000n);
  const p = readProcessParameters(vm, layout, peb);
  t.is(p.commandLine, null);
  t.truthy(p.reasons.commandLine);
  u.u64(peb + u.off('PEB.Ldr'), 0n);
  t.regex(walkLoadedModules(vm, layout, peb).reason!, /not set/);
});

test('environment block: bounded, and a missing page marks it incomplete', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const m = new FakeMachine();
  const dtb = m.newSpace();
  const va = 0x7ff710000000n;
  // Two pages of "X=…" with no terminator, then an unmapped page.
  m.writeVirt(dtb, va, Buffer.from('COMPUTERNAME=HOST\0' + 'A'.repeat(4096 - 18), 'utf16le').subarray(0, 8192));
  const r = readEnvironment(m.vm(dtb), va);
  t.false(r.complete);
  t.regex(r.reason!, /not in the dump/);
  t.is(r.vars.COMPUTERNAME, 'HOST');
  // A block with no end inside the bound stops at the bound.
  const big = new FakeMachine();
  const d2 = big.newSpace();
  big.writeVirt(d2, va, Buffer.alloc(MAX_ENVIRONMENT_BYTES + 0x1000, 0x41));
  const r2 = readEnvironment(big.vm(d2), va);
  t.false(r2.complete);
  t.regex(r2.reason!, /no end within/);
  void layout;
});

/** The kernel side: root directory → GLOBAL?? → C: and D: links, objects with name info before their headers. */
function objectNamespace(layout: KernelLayout, opts: { chainLoop?: boolean } = {}) {
  const m = new FakeMachine();
  const k = new Mem(m, m.kernelDtb, layout, 0xffffc60000000000n);
  const base = 0xfffff80000000000n;
  const bodyOff = BigInt(layout.fields['OBJECT_HEADER.Body']!.offset);
  const nameSize = BigInt(layout.sizes._OBJECT_HEADER_NAME_INFO!);
  const creatorSize = BigInt(layout.sizes._OBJECT_HEADER_CREATOR_INFO!);
  const object = (name: string, bodyBytes: number, creator: boolean): bigint => {
    const blk = k.alloc(0x400);
    const header = blk + 0x100n;
    const info = header - (creator ? creatorSize : 0n) - nameSize;
    k.ustr(info + k.off('OBJECT_HEADER_NAME_INFO.Name'), name);
    k.bytes(header + k.off('OBJECT_HEADER.InfoMask'), Buffer.from([creator ? 0x3 : 0x2]));
    void bodyBytes;
    return header + bodyOff;
  };
  const directory = (entries: bigint[]): bigint => {
    const dir = object('dir', 0x200, true);
    const n = layout.fields['OBJECT_DIRECTORY.HashBuckets']!.size / 8;
    entries.forEach((obj, i) => {
      const e = k.alloc(0x20);
      k.u64(e + k.off('OBJECT_DIRECTORY_ENTRY.Object'), obj);
      const slot = dir + k.off('OBJECT_DIRECTORY.HashBuckets') + BigInt((i % Math.min(2, n)) * 8);
      // Chain two entries in bucket 0 to exercise ChainLink.
      const prev = m.vm().readU64(slot)!;
      k.u64(e + k.off('OBJECT_DIRECTORY_ENTRY.ChainLink'), opts.chainLoop && prev !== 0n ? e : prev);
      k.u64(slot, e);
    });
    return dir;
  };
  const link = (name: string, target: string, creator: boolean) => {
    const o = object(name, 0x40, creator);
    k.ustr(o + k.off('OBJECT_SYMBOLIC_LINK.LinkTarget'), target);
    return o;
  };
  const links = [link('C:', '\\Device\\HarddiskVolume3', false), link('D:', '\\Device\\HarddiskVolume10', true), link('PhysicalDrive0', '\\Device\\Harddisk0\\DR0', false)];
  const global = directory([...links, link('E:', '\\Device\\CdRom0', false)]);
  const root = directory([object('Device', 0x100, false), global]);
  // Rename the second directory to GLOBAL?? (both were made as "dir").
  const g = global - bodyOff;
  k.ustr(g - creatorSize - nameSize + k.off('OBJECT_HEADER_NAME_INFO.Name'), 'GLOBAL??');
  const rootPtr = base + BigInt(layout.symbols.ObpRootDirectoryObject!);
  k.m.writeVirt(m.kernelDtb, rootPtr & ~0xfffn, Buffer.alloc(0x1000));
  k.u64(rootPtr, root);
  return { vm: m.vm(), base, global };
}

for (const key of REAL_LAYOUTS) {
  test(`\\GLOBAL?? drive letters with layout ${key}`, (t) => {
    const layout = layoutOf(key);
    const { vm, base } = objectNamespace(layout);
    const d = readDriveLetters(vm, layout, base);
    t.is(d.reason, undefined);
    t.deepEqual(d.drives, [
      { letter: 'C:', target: '\\Device\\HarddiskVolume3' },
      { letter: 'D:', target: '\\Device\\HarddiskVolume10' },
      { letter: 'E:', target: '\\Device\\CdRom0' },
    ]);
    t.is(toDosPath('\\Device\\HarddiskVolume3\\Users\\jdoe\\AppData\\Local\\Temp\\rundll32.exe', d.drives), 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\rundll32.exe');
    // HarddiskVolume1 must not match HarddiskVolume10's prefix, nor the reverse.
    t.is(toDosPath('\\Device\\HarddiskVolume10\\x.exe', d.drives), 'D:\\x.exe');
    t.is(toDosPath('\\Device\\HarddiskVolume1\\x.exe', d.drives), null);
    t.is(toDosPath('\\Device\\HarddiskVolume30\\x.exe', d.drives), null);
  });
}

test('drive letters: no symbol, unreadable root, looping hash chain', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const { vm, base, global } = objectNamespace(layout, { chainLoop: true });
  t.regex(readDriveLetters(vm, { ...layout, symbols: {} }, base).reason!, /ObpRootDirectoryObject is unknown/);
  t.regex(readDriveLetters(vm, layout, base + 0x100000000n).reason!, /not in the dump/);
  const l = listDirectory(vm, layout, global);
  t.false(l.complete);
  t.regex(l.reason!, /loops/);
});

test('KUSER_SHARED_DATA: product type, version, boot and dump clock; a torn time is unknown', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[4]);
  const m = new FakeMachine();
  const k = new Mem(m, m.kernelDtb, layout, KUSER_SHARED_DATA);
  const ku = k.alloc(0x1000);
  k.u32(ku + k.off('KUSER_SHARED_DATA.NtProductType'), 3);
  k.u32(ku + k.off('KUSER_SHARED_DATA.NtMajorVersion'), 10);
  k.u32(ku + k.off('KUSER_SHARED_DATA.NtMinorVersion'), 0);
  const st = 133600000000000000n;
  const ks = (at: bigint, v: bigint, torn = false) => {
    k.u32(at, Number(v & 0xffffffffn));
    k.u32(at + 4n, Number(v >> 32n));
    k.u32(at + 8n, Number(v >> 32n) + (torn ? 1 : 0));
  };
  ks(ku + k.off('KUSER_SHARED_DATA.SystemTime'), st);
  ks(ku + k.off('KUSER_SHARED_DATA.InterruptTime'), 36_000_000_000n, true);
  const f = readKuserFacts(m.vm(), layout);
  t.is(f.productType, 3);
  t.is(f.majorVersion, 10);
  t.is(f.minorVersion, 0);
  t.is(f.systemTime, st);
  t.is(f.interruptTime, undefined);
});
