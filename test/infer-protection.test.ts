// EPROCESS.Protection inferred from the data: reported only for exactly one byte offset that the
// named system processes confirm; ambiguity, a contradiction or too few anchors leave it unknown.
import test from 'ava';
import { inferProtection, plausibleProtection, PROTECTION_LIMITS } from '../src/ntos/infer-protection.ts';

const O_NAME = 0x100;
const MAX_EPROCESS = 0x1000;
const AT = O_NAME + 0x27a; // where the 19041 layout has it

interface Fake { name: string; prot: number; extra?: Record<number, number> }

/** A memory of one EPROCESS per process (at 0x10000 × i), zero except the protection byte and `extra`. */
function world(procs: Fake[]) {
  const mem = procs.map((p) => {
    const b = Buffer.alloc(MAX_EPROCESS);
    b[AT] = p.prot;
    for (const [o, v] of Object.entries(p.extra ?? {})) b[Number(o)] = v;
    return b;
  });
  const vm = {
    read: (va: bigint, len: number) => {
      const i = Number(va / 0x10000n) - 1;
      const off = Number(va % 0x10000n);
      return mem[i] && off + len <= MAX_EPROCESS ? Buffer.from(mem[i]!.subarray(off, off + len)) : undefined;
    },
  };
  const list = procs.map((p, i) => ({ ep: BigInt(i + 1) * 0x10000n, pid: i * 4, name: p.name }));
  return inferProtection(vm, list, O_NAME, MAX_EPROCESS);
}

const BASE: Fake[] = [
  { name: 'System', prot: 0x72 },
  { name: 'Registry', prot: 0 },
  { name: 'smss.exe', prot: 0x61 },
  { name: 'csrss.exe', prot: 0x61 },
  { name: 'wininit.exe', prot: 0x61 },
  { name: 'services.exe', prot: 0x61 },
  { name: 'lsass.exe', prot: 0x41 },
  { name: 'MsMpEng.exe', prot: 0x31 },
  { name: 'svchost.exe', prot: 0 },
  { name: 'explorer.exe', prot: 0 },
];

test('the one byte confirmed by System, the WinTcb-Light processes and lsass is reported', (t) => {
  t.is(world(BASE).offset, AT);
  // lsass without RunAsPPL reads 0: still fine.
  t.is(world(BASE.map((p) => (p.name === 'lsass.exe' ? { ...p, prot: 0 } : p))).offset, AT);
});

test('two offsets that both fit: ambiguous, not reported', (t) => {
  const twin = BASE.map((p) => ({ ...p, extra: { [AT + 0x20]: p.prot } }));
  const r = world(twin);
  t.is(r.offset, undefined);
  t.regex(r.reason, /2 byte offsets/);
});

test('a contradiction leaves it unknown: System not 0x72, lsass with another signer, an ordinary process with an impossible byte', (t) => {
  t.is(world(BASE.map((p) => (p.name === 'System' ? { ...p, prot: 0x61 } : p))).offset, undefined);
  t.is(world(BASE.map((p) => (p.name === 'lsass.exe' ? { ...p, prot: 0x61 } : p))).offset, undefined);
  t.is(world(BASE.map((p) => (p.name === 'explorer.exe' ? { ...p, prot: 0x79 } : p))).offset, undefined); // audit bit set
});

test(`fewer than ${PROTECTION_LIMITS.minAnchors} named system processes, or no System: not reported`, (t) => {
  const few = BASE.filter((p) => !['csrss.exe', 'wininit.exe', 'services.exe'].includes(p.name));
  t.regex(world(few).reason, /2 readable named system processes/);
  t.is(world(few).offset, undefined);
  t.is(world(BASE.filter((p) => p.name !== 'System')).offset, undefined);
});

test('plausibleProtection: 0 or Light/Protected with a defined signer and no audit bit', (t) => {
  for (const b of [0, 0x72, 0x61, 0x41, 0x31, 0x81, 0x11]) t.true(plausibleProtection(b), b.toString(16));
  for (const b of [0x01, 0x73, 0x79, 0x90, 0xf1, 0x60, 0x03]) t.false(plausibleProtection(b), b.toString(16));
});
