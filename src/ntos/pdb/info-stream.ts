// PDB info stream (stream 1): version, signature, age and GUID. The GUID here and the DBI
// stream's age are what a PE's CodeView RSDS record names.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { BadInputError } from '../../errors.ts';
import { guidToString } from '../pe.ts';

export const infoHeaderParser = new Parser()
  .endianness('little')
  .uint32('version')
  .uint32('signature')
  .uint32('age')
  .buffer('guid', { length: 16 });
export const INFO_HEADER_SIZE = 28;

export interface PdbInfo {
  /** 20000404 (VC70) for every PDB we read. */
  version: number;
  signature: number;
  /** The info stream's age (can run ahead of the DBI age that the PE names). */
  age: number;
  /** Upper-case hex, no dashes, in symbol-store order. */
  guid: string;
}

export function parseInfoStream(data: Buffer, label = 'PDB'): PdbInfo {
  if (data.length < INFO_HEADER_SIZE) throw new BadInputError(`${label}: PDB info stream is truncated (${data.length} bytes)`, 'pdb.info');
  const h = infoHeaderParser.parse(data);
  if (h.version < 19941610 || h.version > 30000000) {
    throw new BadInputError(`${label}: PDB info stream version ${h.version} is unknown`, 'pdb.info');
  }
  return { version: h.version, signature: h.signature, age: h.age, guid: guidToString(h.guid as Buffer) };
}
