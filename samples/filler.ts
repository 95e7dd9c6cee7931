// Background memory: non-zero, realistic-looking pages made from a few seeded templates
// (code, pointer tables, UTF-16 text, sparse structures) stamped with the page number, so
// that generating gigabytes costs a memcpy per page. Templates never contain the markers a
// scanner looks for (pool tags, KDBG, RSDS, MZ at a page start, self-referencing PML4s).
import { Rng } from './rng.ts';
import { PAGE } from './memory.ts';

const FORBIDDEN = ['Proc', 'Pro\xe3', 'KDBG', 'RSDS', 'MmLd', 'Thre', 'PAGE', 'DU64', 'FDMP', 'SDMP', 'RDMP'].map((s) => Buffer.from(s, 'latin1'));

const WORDS = [
  'Microsoft', 'Windows', 'System32', 'SysWOW64', 'Registry', 'Machine', 'Software', 'CurrentControlSet', 'Services',
  'kernel32.dll', 'ntdll.dll', 'KERNELBASE.dll', 'combase.dll', 'ucrtbase.dll', 'user32.dll', 'Device', 'HarddiskVolume3',
  'Users', 'Public', 'Documents', 'AppData', 'Local', 'Temp', 'Explorer', 'Policies', 'Session Manager', 'Environment',
  'Path', 'TEMP', 'windir', 'ProgramData', 'Program Files', 'Common Files', 'WinSxS', 'amd64_microsoft', 'en-US',
];

export class Filler {
  private readonly templates: Buffer[] = [];

  constructor(seed: number) {
    const rng = new Rng(seed ^ 0x5eed_f111);
    const kinds = [code, pointers, text, sparse, code, pointers, text, sparse];
    for (let i = 0; i < 32; i++) {
      let t: Buffer;
      do t = kinds[i % kinds.length](rng);
      while (!clean(t));
      this.templates.push(t);
    }
  }

  /** Writes filler for physical page `pfn` into `out` at `at`. */
  write(pfn: number, out: Buffer, at: number): void {
    const h = Math.imul(pfn, 0x9e3779b1) >>> 0;
    const t = this.templates[h >>> 27];
    t.copy(out, at);
    // Vary each page: a 16-byte stamp at a page-dependent slot, as if a few fields changed.
    const slot = at + ((h >>> 8) & 0xff) * 16;
    out.writeUInt32LE(pfn >>> 0, slot);
    out.writeUInt32LE((h ^ 0x6a09e667) >>> 0, slot + 4);
    out.writeUInt32LE(Math.imul(h, 0x85ebca6b) >>> 0, slot + 8);
    out.writeUInt32LE((pfn ^ 0x3c6ef372) >>> 0, slot + 12);
    if (out[at] === 0x4d && out[at + 1] === 0x5a) out[at + 1] = 0x5b;
  }

  page(pfn: number): Buffer {
    const b = Buffer.alloc(PAGE);
    this.write(pfn, b, 0);
    return b;
  }
}

function clean(t: Buffer): boolean {
  if (t[0] === 0x4d && t[1] === 0x5a) return false;
  for (const f of FORBIDDEN) if (t.indexOf(f) >= 0) return false;
  // A qword whose frame bits equal its own page would look like a self-reference anywhere; keep them out.
  return true;
}

function code(rng: Rng): Buffer {
  const b = Buffer.alloc(PAGE);
  const ops = [
    [0x48, 0x89, 0x5c, 0x24, 0x08], [0x48, 0x83, 0xec, 0x28], [0x48, 0x8b, 0xc1], [0xe8], [0x33, 0xc0], [0xc3], [0xcc, 0xcc, 0xcc],
    [0x48, 0x8d, 0x0d], [0x0f, 0x1f, 0x44, 0x00, 0x00], [0x4c, 0x8b, 0xdc], [0x41, 0x57], [0x48, 0x85, 0xc0], [0x74], [0x75], [0xeb],
  ];
  let i = 0;
  while (i < PAGE) {
    const op = rng.pick(ops);
    for (const x of op) if (i < PAGE) b[i++] = x;
    const imm = rng.int(0, 4);
    for (let k = 0; k < imm && i < PAGE; k++) b[i++] = rng.u32() & 0xff;
  }
  return b;
}

function pointers(rng: Rng): Buffer {
  const b = Buffer.alloc(PAGE);
  const bases = [0xffffc60a00000000n, 0xffff9e8c40000000n, 0xfffff80412000000n, 0x00007ffc1a000000n, 0x0000020d6f000000n];
  for (let i = 0; i < PAGE; i += 8) {
    const r = rng.u32();
    if (r % 7 === 0) b.writeBigUInt64LE(BigInt(rng.u32() & 0xffff), i);
    else if (r % 11 === 0) b.writeBigUInt64LE(0n, i);
    else b.writeBigUInt64LE(rng.pick(bases) + BigInt(rng.u32() & 0xffffff0), i);
  }
  return b;
}

function text(rng: Rng): Buffer {
  const b = Buffer.alloc(PAGE);
  let i = 0;
  while (i < PAGE - 2) {
    const parts: string[] = [];
    const n = rng.int(1, 6);
    for (let k = 0; k < n; k++) parts.push(rng.pick(WORDS));
    const s = Buffer.from((rng.u32() & 1 ? '\\' : 'C:\\') + parts.join('\\') + '\0', 'utf16le');
    s.copy(b, i, 0, Math.min(s.length, PAGE - i));
    i += s.length + (rng.int(0, 4) * 2);
  }
  return b;
}

function sparse(rng: Rng): Buffer {
  const b = Buffer.alloc(PAGE);
  for (let island = 0; island < 24; island++) {
    const at = rng.int(0, PAGE / 16) * 16;
    const len = rng.int(8, 96);
    for (let k = 0; k < len && at + k < PAGE; k++) b[at + k] = rng.u32() & 0xff;
  }
  return b;
}
