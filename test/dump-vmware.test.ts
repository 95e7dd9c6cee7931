// VMware .vmem + .vmss/.vmsn: the state file (found beside the .vmem, recognised by content) maps
// physical ranges to .vmem offsets across the PCI hole.
import test from 'ava';
import { openDump } from '../src/dump/open.ts';
import { BadInputError, UnsupportedError } from '../src/errors.ts';
import { buildRaw, buildVmss, pageMap, patternPage, writeTmp } from './helpers/dump-builders.ts';

const DIR = 'dump-vmware';
// 16 pages below the "hole", 8 above it at physical page 0x100.
const REGIONS = [{ ppn: 0, pageNum: 0, size: 16 }, { ppn: 0x100, pageNum: 16, size: 8 }];
const VMEM = buildRaw(pageMap([...Array(24).keys()]), 24);

test('a .vmem maps through the .vmss beside it; the .vmss itself opens the pair', (t) => {
  for (const [ext, blob] of [['vmss', undefined], ['vmsn', 5000]] as const) {
    const vmem = writeTmp(DIR, `${ext}-guest.vmem`, VMEM);
    const state = writeTmp(DIR, `${ext}-guest.${ext}`, buildVmss(REGIONS, { blob }));
    for (const path of [vmem, state]) {
      const d = openDump(path);
      t.is(d.format, 'vmware');
      t.is(d.path, vmem);
      const p = d.physical!;
      t.deepEqual([...p.runs()], [{ basePage: 0, pageCount: 16 }, { basePage: 0x100, pageCount: 8 }]);
      t.deepEqual(p.readPage(3), patternPage(3));
      t.deepEqual(p.readPage(0x102), patternPage(18)); // .vmem page 18 is physical page 0x102
      t.is(p.readPage(16), undefined); // inside the hole: absent, not the next .vmem page
      t.deepEqual(d.partialReasons, []);
      d.close();
    }
  }
});

test('no regions: the .vmem is flat; a .vmem longer than the map is fine, shorter is truncated', (t) => {
  writeTmp(DIR, 'flat.vmss', buildVmss([]));
  const d = openDump(writeTmp(DIR, 'flat.vmem', VMEM));
  t.deepEqual([...d.physical!.runs()], [{ basePage: 0, pageCount: 24 }]);
  d.close();
  writeTmp(DIR, 'short.vmss', buildVmss(REGIONS));
  const s = openDump(writeTmp(DIR, 'short.vmem', VMEM.subarray(0, 20 * 4096)));
  t.is(s.physical!.presentPages, 20);
  t.regex(s.partialReasons[0]!, /truncated: 4 page/);
  s.close();
});

test('damaged or lone state files are typed errors', (t) => {
  const good = buildVmss(REGIONS);
  writeTmp(DIR, 'cut.vmem', VMEM);
  writeTmp(DIR, 'cut.vmss', good.subarray(0, good.length - 10));
  t.throws(() => openDump(writeTmp(DIR, 'cut.vmem', VMEM)), { instanceOf: BadInputError });
  const lone = writeTmp(DIR, 'lone.vmsn', good);
  t.throws(() => openDump(lone), { instanceOf: UnsupportedError, message: /no \.vmem beside it/ });
  const groups = Buffer.from(good);
  groups.writeUInt32LE(1_000_000, 8);
  writeTmp(DIR, 'groups.vmss', groups);
  t.throws(() => openDump(writeTmp(DIR, 'groups.vmem', VMEM)), { instanceOf: BadInputError, message: /group count/ });
  writeTmp(DIR, 'blob.vmss', buildVmss(REGIONS, { blob: 1 << 30, blobWritten: 4096 }));
  t.throws(() => openDump(writeTmp(DIR, 'blob.vmem', VMEM)), { instanceOf: BadInputError, message: /blob/ });
});
