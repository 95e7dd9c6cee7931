// FILE_OBJECTs (Type File, FileName relative to the volume, DeviceObject → a named Device object),
// and for mapped images a CONTROL_AREA with its first SUBSECTION (ControlArea.FilePointer → the
// file). One of each per path, shared by every process that opens or maps it.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import { unicodeString, type ObjectSpace, type PoolObject } from './object.ts';
import { typeIndexOf } from './object-types.ts';

/** IO_TYPE_FILE / IO_TYPE_DEVICE (FILE_OBJECT.Type, DEVICE_OBJECT.Type). */
const IO_TYPE_FILE = 5;
const IO_TYPE_DEVICE = 3;
/** The volume every generated path lives on. */
export const VOLUME_DEVICE = 'HarddiskVolume3';
/** EX_FAST_REF reference-count bits kept in CONTROL_AREA.FilePointer's low nibble. */
const FAST_REF_COUNT = 0x3n;
const DEVICE_OBJECT_SIZE = 0x150;

export interface FileObject {
  readonly obj: PoolObject;
  readonly name: string;
}

export class FileObjects {
  private readonly files = new Map<string, FileObject>();
  private readonly sections = new Map<string, bigint>();
  private device: bigint | null = null;

  constructor(
    private readonly k: KernelCtx,
    private readonly o: ObjectSpace,
  ) {}

  /** The volume's DEVICE_OBJECT (named `HarddiskVolume3`), created on first use. */
  private volume(): bigint {
    if (this.device !== null) return this.device;
    const { layout, types } = this.k;
    const size = types.structSize('_DEVICE_OBJECT') ?? DEVICE_OBJECT_SIZE;
    const obj = this.o.allocObject(size, 'Devi', typeIndexOf('Device'), 'large', { name: VOLUME_DEVICE });
    const w = new StructWriter(layout, '_DEVICE_OBJECT', obj.block.buf, obj.bodyOff);
    w.set('Type', IO_TYPE_DEVICE, true);
    w.set('Size', size, true);
    this.device = obj.bodyVa;
    return this.device;
  }

  /** The FILE_OBJECT for `name` (a path without the device, e.g. \Windows\System32\ntdll.dll). */
  file(name: string): FileObject {
    let f = this.files.get(name);
    if (f) return f;
    const { layout } = this.k;
    const device = this.volume();
    const nameVa = this.o.poolString(name, 'FlNm');
    const size = layout.size('_FILE_OBJECT');
    const obj = this.o.allocObject(size, 'File', typeIndexOf('File'), 'large');
    const w = new StructWriter(layout, '_FILE_OBJECT', obj.block.buf, obj.bodyOff);
    w.set('Type', IO_TYPE_FILE);
    w.set('Size', size);
    w.set('DeviceObject', device);
    unicodeString(w, 'FileName', nameVa, name);
    w.set('ReadAccess', 1, true);
    w.set('SharedRead', 1, true);
    f = { obj, name };
    this.files.set(name, f);
    return f;
  }

  /** The first SUBSECTION of the image section for `name` (CONTROL_AREA + SUBSECTION in one block). */
  imageSubsection(name: string): bigint {
    const have = this.sections.get(name);
    if (have !== undefined) return have;
    const { layout } = this.k;
    const file = this.file(name);
    const caSize = layout.size('_CONTROL_AREA');
    const b = this.o.pool.alloc(layout, caSize + layout.size('_SUBSECTION'), 'MmCa', 'large');
    const caVa = b.headerVa + BigInt(POOL_HEADER_BYTES);
    const ca = new StructWriter(layout, '_CONTROL_AREA', b.buf, POOL_HEADER_BYTES);
    ca.set('FilePointer', file.obj.bodyVa | FAST_REF_COUNT);
    ca.set('u.Flags.Image', 1, true);
    ca.set('u.Flags.File', 1, true);
    ca.set('NumberOfSectionReferences', 1, true);
    ca.set('NumberOfMappedViews', 1, true);
    const ss = new StructWriter(layout, '_SUBSECTION', b.buf, POOL_HEADER_BYTES + caSize);
    ss.set('ControlArea', caVa);
    const subsection = caVa + BigInt(caSize);
    this.sections.set(name, subsection);
    return subsection;
  }
}
