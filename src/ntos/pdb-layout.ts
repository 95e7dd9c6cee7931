// A KernelLayout straight from a kernel PDB: the PDB goes through the same ISF model as ISF files,
// so one code path (layoutFromIsf) decides every offset whatever the symbols' source.
import { IsfTypes } from './isf.ts';
import { pdbToIsf } from './isf-write.ts';
import { layoutFromIsf, type KernelLayout } from './layout.ts';
import { openPdbFile, type Pdb } from './pdb/index.ts';

export function layoutFromPdb(pdb: Pdb, path: string): KernelLayout {
  return layoutFromIsf(new IsfTypes(pdbToIsf(pdb, { datetime: '1970-01-01T00:00:00.000Z' })), { kind: 'pdb', path });
}

export function layoutFromPdbFile(path: string): KernelLayout {
  return layoutFromPdb(openPdbFile(path), path);
}
