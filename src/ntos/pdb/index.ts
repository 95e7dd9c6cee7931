// A PDB opened for reading: MSF container, info stream (GUID, age), DBI (its age, machine,
// sections), TPI types and public symbols. Streams are read on first use.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { BadInputError } from '../../errors.ts';
import type { SectionHeader } from '../pe.ts';
import { MsfFile } from './msf.ts';
import { parseInfoStream, type PdbInfo } from './info-stream.ts';
import { parseDbiHeader, readSections, type DbiInfo, type Omap } from './dbi-stream.ts';
import { TpiStream } from './tpi-stream.ts';
import { readPublics, type PublicSymbol } from './publics.ts';

export { MsfFile } from './msf.ts';
export { TpiStream } from './tpi-stream.ts';
export type { TypeRecord, FieldEntry, UdtRecord, EnumRecord } from './tpi-stream.ts';
export type { PublicSymbol } from './publics.ts';

export const Stream = { Old: 0, Info: 1, Tpi: 2, Dbi: 3, Ipi: 4 } as const;

/** Largest PDB we open (kernel PDBs are 10–40 MiB; the format allows more but we do not need it). */
export const MAX_PDB_BYTES = 1024 * 1024 * 1024;

export class Pdb {
  readonly msf: MsfFile;
  readonly info: PdbInfo;
  readonly dbi: DbiInfo;
  private _tpi?: TpiStream;
  private _sections?: { sections: SectionHeader[]; omap?: Omap };
  private _publics?: { publics: PublicSymbol[]; truncated: boolean };

  constructor(
    data: Buffer,
    /** Name used in messages and as the ISF's database name (e.g. `ntkrnlmp.pdb`). */
    readonly name = 'PDB',
  ) {
    this.msf = new MsfFile(data, name);
    this.info = parseInfoStream(this.msf.readStream(Stream.Info, 'PDB info stream'), name);
    this.dbi = parseDbiHeader(this.msf.readStream(Stream.Dbi, 'DBI stream'), name);
  }

  /** The age that a PE's CodeView record carries (the DBI stream's). */
  get age(): number {
    return this.dbi.age;
  }
  get guid(): string {
    return this.info.guid;
  }
  get machine(): number {
    return this.dbi.machine;
  }

  get tpi(): TpiStream {
    this._tpi ??= new TpiStream(this.msf.readStream(Stream.Tpi, 'TPI stream'), this.name);
    return this._tpi;
  }

  get sections(): SectionHeader[] {
    this._sections ??= readSections(this.msf, this.dbi);
    return this._sections.sections;
  }

  get omap(): Omap | undefined {
    this._sections ??= readSections(this.msf, this.dbi);
    return this._sections.omap;
  }

  /** S_PUB32 records with RVAs; `truncated` when the stream ended mid-record. */
  get publics(): { publics: PublicSymbol[]; truncated: boolean } {
    if (!this._publics) {
      const s = this.dbi.symRecordStream;
      this._publics = this.msf.hasStream(s)
        ? readPublics(this.msf.readStream(s, 'symbol record stream'), this.sections, this.omap)
        : { publics: [], truncated: false };
    }
    return this._publics;
  }
}

/** Opens a PDB file (read-only, whole file: PDBs are symbol files, not evidence). */
export function openPdbFile(path: string): Pdb {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new BadInputError(`${path}: cannot read PDB (${(e as Error).message})`, 'pdb.read');
  }
  if (size > MAX_PDB_BYTES) throw new BadInputError(`${path}: PDB too large (${size} bytes)`, 'pdb.size');
  return new Pdb(readFileSync(path), basename(path));
}
