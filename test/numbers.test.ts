// The shared value helpers (src/dump/numbers.ts) and the process-name tables (src/ntos/process-names.ts).
import test from 'ava';
import { filetimeToIso, hex, hexOrNull, isCanonical, pageTableRoot, FILETIME_UNIX_EPOCH } from '../src/dump/numbers.ts';
import { imageFileNameBytes, knownTrustlet, SECOND_LIST_ENTRIES, SECURE_SYSTEM } from '../src/ntos/process-names.ts';

test('hex: lower-case 0x text for numbers and bigints; hexOrNull keeps unknown as null', (t) => {
  t.is(hex(0), '0x0');
  t.is(hex(0xabcn), '0xabc');
  t.is(hex(0xfffff80000000000n), '0xfffff80000000000');
  t.is(hexOrNull(undefined), null);
  t.is(hexOrNull(null), null);
  t.is(hexOrNull(16), '0x10');
});

test('isCanonical: both halves, nothing in the hole, nothing beyond 64 bits', (t) => {
  t.true(isCanonical(0n));
  t.true(isCanonical(0x00007fffffffffffn));
  t.false(isCanonical(0x0000800000000000n));
  t.false(isCanonical(0xffff7fffffffffffn));
  t.true(isCanonical(0xffff800000000000n));
  t.true(isCanonical(0xffffffffffffffffn));
  t.false(isCanonical(1n << 64n));
  t.false(isCanonical(-1n));
});

test('pageTableRoot: PCID bits and bit 63 of CR3 are not part of the root', (t) => {
  t.is(pageTableRoot(0x1aa000n), 0x1aa000);
  t.is(pageTableRoot(0x80000000001aa002n), 0x1aa000);
  t.is(pageTableRoot(0x1aa0ff), 0x1aa000);
});

test('filetimeToIso: one rule — unset, absent and impossible times are null', (t) => {
  t.is(filetimeToIso(undefined), null);
  t.is(filetimeToIso(0n), null);
  t.is(filetimeToIso(FILETIME_UNIX_EPOCH), null); // 1970: before 1990
  t.is(filetimeToIso(0xffffffffffffffffn), null);
  t.is(filetimeToIso(FILETIME_UNIX_EPOCH + 1715670137800n * 10000n), '2024-05-14T07:02:17.800Z');
});

test('process names: trustlets case-insensitively; the second list entries include Secure System', (t) => {
  t.deepEqual(knownTrustlet('LSAISO.EXE'), { name: 'LsaIso.exe', id: 1 });
  t.is(knownTrustlet('lsass.exe'), undefined);
  t.true(SECOND_LIST_ENTRIES.has(SECURE_SYSTEM));
  const b = imageFileNameBytes('System');
  t.is(b.length, 15);
  t.is(b.toString('latin1'), 'System\0\0\0\0\0\0\0\0\0');
  t.is(imageFileNameBytes('a-very-long-process-name.exe').toString('latin1'), 'a-very-long-pr\0');
});
