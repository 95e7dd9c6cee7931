// The xz codec for .json.xz symbol files (@napi-rs/lzma), loaded on first use: it is a native
// addon (finding and dlopen-ing it costs ~10 ms), and most runs read no xz file at all.
import { createRequire } from 'node:module';

type Lzma = typeof import('@napi-rs/lzma');

let loaded: Lzma['xz'] | undefined;

export function xzCodec(): Lzma['xz'] {
  return (loaded ??= (createRequire(import.meta.url)('@napi-rs/lzma') as Lzma).xz);
}
