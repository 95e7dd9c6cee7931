import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  readPeDebugInfo,
  parseRsds,
  guidDashed,
  sectionHeaderParser,
  coffHeaderParser,
  debugDirectoryParser,
  rsdsHeaderParser,
  SECTION_HEADER_SIZE,
  COFF_HEADER_SIZE,
  DEBUG_DIRECTORY_SIZE,
  RSDS_HEADER_SIZE,
} from '../src/ntos/pe.ts';
import { BadInputError } from '../src/errors.ts';

const EXE = new URL('../../shared/data/real/exceptions-test.exe', import.meta.url).pathname;

test('fixed PE layouts have their on-disk sizes', (t) => {
  t.is(sectionHeaderParser.sizeOf(), SECTION_HEADER_SIZE);
  t.is(SECTION_HEADER_SIZE, 40);
  t.is(coffHeaderParser.sizeOf(), COFF_HEADER_SIZE);
  t.is(COFF_HEADER_SIZE, 20);
  t.is(debugDirectoryParser.sizeOf(), DEBUG_DIRECTORY_SIZE);
  t.is(DEBUG_DIRECTORY_SIZE, 28);
  t.is(rsdsHeaderParser.sizeOf(), RSDS_HEADER_SIZE);
  t.is(RSDS_HEADER_SIZE, 24);
});

test('the MSVC-linked exe carries the RSDS GUID/age documented in shared/data/real/SOURCES.md', (t) => {
  const info = readPeDebugInfo(readFileSync(EXE));
  t.is(info.machine, 0x8664);
  t.true(info.is64);
  t.is(guidDashed(info.codeView!.guid), '{2A7ED8A5-D796-443D-80CF-7200044EDF83}');
  t.is(info.codeView!.age, 3);
  t.is(info.codeView!.pdbName, 'exceptions-test.pdb');
  t.is(info.sections[0].name, '.text');
});

test('the same RSDS is found in the mapped-image (memory) layout through a reader function', (t) => {
  const file = readFileSync(EXE);
  const hdr = readPeDebugInfo(file);
  const image = Buffer.alloc(hdr.sizeOfImage);
  file.copy(image, 0, 0, 0x400);
  for (const s of hdr.sections) {
    file.copy(image, s.virtualAddress, s.pointerToRawData, s.pointerToRawData + Math.min(s.sizeOfRawData, s.virtualSize));
  }
  let reads = 0;
  const info = readPeDebugInfo((off, len) => {
    reads++;
    return off < image.length ? image.subarray(off, Math.min(image.length, off + len)) : undefined;
  }, 'memory');
  t.deepEqual(info.codeView, hdr.codeView);
  t.true(reads < 10);
});

test('garbage and truncated PEs are BadInputError, a bare RSDS record parses', (t) => {
  t.throws(() => readPeDebugInfo(Buffer.alloc(100)), { instanceOf: BadInputError });
  const file = readFileSync(EXE);
  t.throws(() => readPeDebugInfo(file.subarray(0, 0x120)), { instanceOf: BadInputError });
  const bad = Buffer.from(file);
  bad.writeUInt32LE(0x7fffffff, 0x3c);
  t.throws(() => readPeDebugInfo(bad), { instanceOf: BadInputError });
  const rec = Buffer.concat([Buffer.from('RSDS'), Buffer.alloc(16, 0x11), Buffer.from([5, 0, 0, 0]), Buffer.from('x\\ntkrnlmp.pdb\0')]);
  t.deepEqual(parseRsds(rec), { guid: '11111111111111111111111111111111', age: 5, pdbPath: 'x\\ntkrnlmp.pdb', pdbName: 'ntkrnlmp.pdb' });
  t.is(parseRsds(Buffer.from('NB10xxxxxxxxxxxxxxxxxxxxxxxxxxx')), undefined);
});
