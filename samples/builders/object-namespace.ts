// Issue 14: the object manager's root directory with a "GLOBAL??" directory holding drive-letter
// symbolic links (C: → \Device\HarddiskVolume3, D: → \Device\CdRom0), each object in pool with an
// OBJECT_HEADER_NAME_INFO before its header, and ObpRootDirectoryObject pointing at the root.
import { OBJECT_HEADER_INFO, OBJECT_HEADER_INFO_SIZES, POOL_HEADER_BYTES, encodeTypeIndex } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import { u64, type KernelCtx } from './context.ts';
import { unicodeString, type ObjectSpace } from './object.ts';
import { typeIndexOf } from './object-types.ts';

/** The drive letters every generated machine has (what the analyzer maps device paths with). */
export const DRIVE_LINKS: readonly { readonly letter: string; readonly target: string }[] = [
  { letter: 'C:', target: '\\Device\\HarddiskVolume3' },
  { letter: 'D:', target: '\\Device\\CdRom0' },
];
/** Other names under \GLOBAL?? (not drive letters: the analyzer must skip them). */
const OTHER_LINKS: readonly { readonly name: string; readonly target: string }[] = [
  { name: 'PhysicalDrive0', target: '\\Device\\Harddisk0\\DR0' },
  { name: 'NUL', target: '\\Device\\Null' },
];
const NAME_INFO_BYTES = OBJECT_HEADER_INFO_SIZES[1];

/** A named object: POOL_HEADER, OBJECT_HEADER_NAME_INFO, OBJECT_HEADER, body. Returns the body VA and its writer. */
function namedObject(k: KernelCtx, o: ObjectSpace, name: string | null, typeName: string, structName: string, tag: string): { bodyVa: bigint; w: StructWriter } {
  const { layout } = k;
  const ohSize = layout.off('_OBJECT_HEADER', 'Body');
  const nameInfo = name === null ? 0 : NAME_INFO_BYTES;
  const bodySize = layout.size(structName);
  const block = o.pool.alloc(layout, nameInfo + ohSize + bodySize, tag, 'large');
  const ohOff = POOL_HEADER_BYTES + nameInfo;
  const ohVa = block.headerVa + BigInt(ohOff);
  const oh = new StructWriter(layout, '_OBJECT_HEADER', block.buf, ohOff);
  oh.set('PointerCount', 2);
  oh.set('HandleCount', 0);
  oh.set('TypeIndex', encodeTypeIndex(typeIndexOf(typeName), o.obHeaderCookie, ohVa));
  oh.set('InfoMask', name === null ? 0 : OBJECT_HEADER_INFO.NAME);
  if (name !== null) {
    const s = o.poolString(name, 'ObNm');
    unicodeString(new StructWriter(layout, '_OBJECT_HEADER_NAME_INFO', block.buf, POOL_HEADER_BYTES), 'Name', s, name);
  }
  return { bodyVa: ohVa + BigInt(ohSize), w: new StructWriter(layout, structName, block.buf, ohOff + ohSize) };
}

/** A directory whose entries are in hash buckets (entries spread over the buckets, chained). */
function directory(k: KernelCtx, o: ObjectSpace, name: string | null, entries: readonly bigint[]): bigint {
  const { layout } = k;
  const dir = namedObject(k, o, name, 'Directory', '_OBJECT_DIRECTORY', 'Dire');
  const buckets = layout.field('_OBJECT_DIRECTORY', 'HashBuckets')!.size / 8;
  const heads = new Array<bigint>(buckets).fill(0n);
  entries.forEach((obj, i) => {
    const b = (i * 7) % buckets;
    const e = o.pool.alloc(layout, layout.size('_OBJECT_DIRECTORY_ENTRY'), 'DirE', 'large');
    const ew = new StructWriter(layout, '_OBJECT_DIRECTORY_ENTRY', e.buf, POOL_HEADER_BYTES);
    ew.set('ChainLink', heads[b]);
    ew.set('Object', obj);
    heads[b] = e.headerVa + BigInt(POOL_HEADER_BYTES);
  });
  const base = layout.off('_OBJECT_DIRECTORY', 'HashBuckets');
  heads.forEach((h, i) => dir.w.buf.writeBigUInt64LE(h, dir.w.base + base + 8 * i));
  return dir.bodyVa;
}

function symbolicLink(k: KernelCtx, o: ObjectSpace, name: string, target: string): bigint {
  const link = namedObject(k, o, name, 'SymbolicLink', '_OBJECT_SYMBOLIC_LINK', 'Symb');
  unicodeString(link.w, 'LinkTarget', o.poolString(target, 'SymT'), target);
  link.w.set('CreationTime.QuadPart', k.bootTime, true);
  return link.bodyVa;
}

/** Step: \GLOBAL?? with drive letters, under the root directory, and ObpRootDirectoryObject. */
export function buildObjectNamespace(k: KernelCtx, o: ObjectSpace): void {
  if (k.types.symbolRva('ObpRootDirectoryObject') === undefined || !k.layout.has('_OBJECT_SYMBOLIC_LINK', 'LinkTarget')) return;
  const links = [...DRIVE_LINKS.map((d) => symbolicLink(k, o, d.letter, d.target)), ...OTHER_LINKS.map((l) => symbolicLink(k, o, l.name, l.target))];
  const global = directory(k, o, 'GLOBAL??', links);
  const device = directory(k, o, 'Device', []);
  const root = directory(k, o, null, [device, global]);
  k.kwrite(k.sym('ObpRootDirectoryObject'), u64(root));
}
