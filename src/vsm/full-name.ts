// A process's full image name: EPROCESS.ImageFileName keeps only 15 bytes ("RuntimeBroker.e"), the
// image path keeps all of it. The path's last component is used when it extends the stored name.
import type { ProcessRecord } from './types.ts';

/** The last component of a Windows path. */
export function baseName(path: string): string {
  const i = path.lastIndexOf('\\');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** The full image name: the path's file name when it starts with ImageFileName (case-insensitive), else ImageFileName. */
export function fullProcessName(p: Pick<ProcessRecord, 'name' | 'imagePath'> & { readonly imagePathDos?: string | null }): string {
  const path = p.imagePathDos ?? p.imagePath?.text;
  if (!path || p.name.rawHex) return p.name.text;
  const file = baseName(path);
  const stored = p.name.text.toLowerCase();
  return stored.length > 0 && file.toLowerCase().startsWith(stored) ? file : p.name.text;
}
