// OBJECT_TYPE objects and ObTypeIndexTable (with ObHeaderCookie and PsProcessType).
import { OB_TYPE_INDEX_FIRST } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import { poolTag, u32, u64, type KernelCtx } from './context.ts';
import { unicodeString, type ObjectSpace } from './object.ts';

/** Type names and pool keys in ObTypeIndexTable order from index 2 (Windows 10: Process = 7). */
export const OBJECT_TYPES: readonly (readonly [string, string])[] = [
  ['Type', 'ObjT'],
  ['Directory', 'Dire'],
  ['SymbolicLink', 'Symb'],
  ['Token', 'Toke'],
  ['Job', 'Job '],
  ['Process', 'Proc'],
  ['Thread', 'Thre'],
  ['Partition', 'Part'],
  ['UserApcReserve', 'User'],
  ['IoCompletionReserve', 'IoCo'],
  ['ActivityReference', 'Acti'],
  ['PsSiloContextPaged', 'PsSi'],
  ['PsSiloContextNonPaged', 'PsSi'],
  ['DebugObject', 'Debu'],
  ['Event', 'Even'],
  ['Mutant', 'Muta'],
  ['Section', 'Sect'],
  ['Device', 'Devi'],
  ['File', 'File'],
];

/** ObTypeIndexTable index of a type name. */
export function typeIndexOf(name: string): number {
  const i = OBJECT_TYPES.findIndex(([n]) => n === name);
  if (i < 0) throw new Error(`no object type ${name}`);
  return i + OB_TYPE_INDEX_FIRST;
}

export const PROCESS_TYPE_INDEX = typeIndexOf('Process');
/** A non-pointer marker in ObTypeIndexTable[1], as on Windows. */
const TYPE_TABLE_MARKER = 0xbad0b0b0n;

export interface ObjectTypes {
  /** OBJECT_TYPE body VAs by index. */
  readonly typeVas: ReadonlyMap<number, bigint>;
}

/** Step: one OBJECT_TYPE per entry (name string, then the object), the table, cookie and PsProcessType. */
export function buildObjectTypes(k: KernelCtx, o: ObjectSpace, processCount: number): ObjectTypes {
  const { layout, rng } = k;
  const typeVas = new Map<number, bigint>();
  const otSize = layout.size('_OBJECT_TYPE');
  OBJECT_TYPES.forEach(([name, key], i) => {
    const index = i + OB_TYPE_INDEX_FIRST;
    const nameVa = o.poolString(name, 'ObNm');
    const obj = o.allocObject(otSize, 'ObjT', typeIndexOf('Type'), 'large');
    const ot = new StructWriter(layout, '_OBJECT_TYPE', obj.block.buf, obj.bodyOff);
    const typeList = obj.bodyVa + BigInt(layout.off('_OBJECT_TYPE', 'TypeList'));
    ot.set('TypeList.Flink', typeList);
    ot.set('TypeList.Blink', typeList);
    unicodeString(ot, 'Name', nameVa, name);
    ot.set('Index', index);
    ot.set('TotalNumberOfObjects', name === 'Process' ? processCount : rng.int(1, 3000), true);
    ot.set('Key', poolTag(key), true);
    typeVas.set(index, obj.bodyVa);
  });
  const typeTable = Buffer.alloc(8 * (typeVas.size + 3));
  typeTable.writeBigUInt64LE(TYPE_TABLE_MARKER, 8);
  for (const [index, va] of typeVas) typeTable.writeBigUInt64LE(va, 8 * index);
  k.kwrite(k.sym('ObTypeIndexTable'), typeTable);
  k.kwrite(k.sym('ObHeaderCookie'), u32(o.obHeaderCookie));
  if (k.types.symbolRva('PsProcessType') !== undefined) k.kwrite(k.sym('PsProcessType'), u64(typeVas.get(PROCESS_TYPE_INDEX)!));
  return { typeVas };
}
