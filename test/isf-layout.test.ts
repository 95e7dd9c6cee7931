import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IsfTypes, loadIsfFile, decodeIsfBytes } from '../src/ntos/isf.ts';
import { layoutFromIsf, secureMarker } from '../src/ntos/layout.ts';
import { BadInputError } from '../src/errors.ts';

const ISF_DIR = new URL('../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url).pathname;

// The table in ../shared/docs/formats.md §6, checked there against the real triage dump.
const EXPECTED: Record<string, { eprocess: number; pid: number; links: number; name: number; prot: number; marker: "SecureState" | "SecurePid"; markerOff: number }> = {
  'DBBC830E3E9A48FDA25A2144C146930E-1': { eprocess: 0x7d0, pid: 0x2e8, links: 0x2f0, name: 0x450, prot: 0x6ca, marker: 'SecurePid', markerOff: 0x2d0 },
  '1D4090613BF97F9B9529992E20E93897-1': { eprocess: 0x858, pid: 0x2e0, links: 0x2e8, name: 0x450, prot: 0x6ca, marker: 'SecureState', markerOff: 0x2d0 },
  'DCA4AD4BEEB4746D48F84C0125019E43-1': { eprocess: 0x880, pid: 0x2e8, links: 0x2f0, name: 0x450, prot: 0x6fa, marker: 'SecureState', markerOff: 0x2d8 },
  '5278AFF86C341677D7D7835C85B7B844-1': { eprocess: 0xa40, pid: 0x440, links: 0x448, name: 0x5a8, prot: 0x87a, marker: 'SecureState', markerOff: 0x3e0 },
  '606FF669409B00F7FC8C61A9C1670129-1': { eprocess: 0xa40, pid: 0x440, links: 0x448, name: 0x5a8, prot: 0x87a, marker: 'SecureState', markerOff: 0x3e0 },
  'B3ED6FA26A1FD6DF6A34DF3B125CAFE8-1': { eprocess: 0xb80, pid: 0x440, links: 0x448, name: 0x5a8, prot: 0x87a, marker: 'SecureState', markerOff: 0x3e0 },
  '0CE4A95C0CD782A7596B034D8648E585-1': { eprocess: 0xb80, pid: 0x440, links: 0x448, name: 0x5a8, prot: 0x87a, marker: 'SecureState', markerOff: 0x3e0 },
};

test('every real ISF yields the documented EPROCESS layout', (t) => {
  const files = readdirSync(ISF_DIR).filter((f) => f.endsWith('.json.xz'));
  t.is(files.length, 7);
  for (const f of files) {
    const key = f.replace('.json.xz', '');
    const want = EXPECTED[key];
    t.truthy(want, key);
    const layout = layoutFromIsf(new IsfTypes(loadIsfFile(join(ISF_DIR, f))), { kind: 'isf', path: f });
    t.is(layout.sizes._EPROCESS, want.eprocess, key);
    t.is(layout.fields['EPROCESS.UniqueProcessId']?.offset, want.pid, key);
    t.is(layout.fields['EPROCESS.ActiveProcessLinks']?.offset, want.links, key);
    t.is(layout.fields['EPROCESS.ImageFileName']?.offset, want.name, key);
    t.is(layout.fields['EPROCESS.Protection']?.offset, want.prot, key);
    t.is(layout.fields['KPROCESS.DirectoryTableBase']?.offset, 0x28, key);
    t.is(secureMarker(layout), want.marker, key);
    t.is(layout.fields[`KPROCESS.${want.marker}` as 'KPROCESS.SecureState']?.offset, want.markerOff, key);
    t.is(`${layout.pdb?.guid}-${layout.pdb?.age}`, key);
  }
});

test('ISF bitfields resolve through nested structs', (t) => {
  const types = new IsfTypes(loadIsfFile(join(ISF_DIR, '5278AFF86C341677D7D7835C85B7B844-1.json.xz')));
  t.deepEqual(
    { ...types.field('_EPROCESS', 'Protection.Signer') },
    { offset: 0x87a, size: 1, bitPosition: 4, bitLength: 4, type: { kind: 'bitfield', bit_position: 4, bit_length: 4, type: { kind: 'base', name: 'unsigned char' } } },
  );
  t.is(types.field('_EPROCESS', 'NoSuchField'), undefined);
  t.is(types.symbolRva('PsActiveProcessHead'), 0xc1e200);
});

test('malformed ISF input is a typed error', (t) => {
  t.throws(() => decodeIsfBytes(Buffer.from('not json'), 'x'), { instanceOf: BadInputError });
  t.throws(() => decodeIsfBytes(Buffer.from('{"metadata":{}}'), 'x'), { instanceOf: BadInputError });
  t.throws(() => decodeIsfBytes(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]), 'x'), { instanceOf: BadInputError });
});
