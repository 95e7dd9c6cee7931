// Public symbols (S_PUB32) from the DBI's symbol record stream, turned into RVAs through the
// section headers: RVA = sections[segment - 1].VirtualAddress + offset (then OMAP if present).
import type { SectionHeader } from '../pe.ts';
import type { Omap } from './dbi-stream.ts';

export const SymKind = {
  S_PUB32: 0x110e,
  S_PUB32_ST: 0x1009,
} as const;

/** PUBSYMFLAGS */
export const PubFlags = { Code: 1, Function: 2, Managed: 4, MSIL: 8 } as const;

export interface PublicSymbol {
  name: string;
  segment: number;
  offset: number;
  flags: number;
  /** Undefined when the segment names no section. */
  rva?: number;
}

const MAX_SYMBOLS = 8 * 1024 * 1024;

/**
 * Reads every S_PUB32 record. Records are walked by their length prefix; a length that runs
 * past the stream ends the walk (the rest is reported via `truncated`), never an exception.
 */
export function readPublics(
  symRecords: Buffer,
  sections: readonly SectionHeader[],
  omap?: Omap,
): { publics: PublicSymbol[]; truncated: boolean } {
  const publics: PublicSymbol[] = [];
  let pos = 0;
  let truncated = false;
  while (pos + 4 <= symRecords.length) {
    const len = symRecords.readUInt16LE(pos);
    const end = pos + 2 + len;
    if (len < 2 || end > symRecords.length) {
      truncated = true;
      break;
    }
    const kind = symRecords.readUInt16LE(pos + 2);
    if ((kind === SymKind.S_PUB32 || kind === SymKind.S_PUB32_ST) && len >= 2 + 10 + 1) {
      const flags = symRecords.readUInt32LE(pos + 4);
      const offset = symRecords.readUInt32LE(pos + 8);
      const segment = symRecords.readUInt16LE(pos + 12);
      let name: string;
      if (kind === SymKind.S_PUB32) {
        const nul = symRecords.indexOf(0, pos + 14);
        name = symRecords.toString('utf8', pos + 14, nul < 0 || nul > end ? end : nul);
      } else {
        const n = Math.min(symRecords[pos + 14], end - (pos + 15));
        name = symRecords.toString('latin1', pos + 15, pos + 15 + n);
      }
      const sym: PublicSymbol = { name, segment, offset, flags };
      if (segment >= 1 && segment <= sections.length) {
        const rva = sections[segment - 1].virtualAddress + offset;
        sym.rva = omap ? omap.map(rva) : rva;
      }
      publics.push(sym);
      if (publics.length >= MAX_SYMBOLS) {
        truncated = true;
        break;
      }
    }
    pos = end;
  }
  return { publics, truncated };
}
