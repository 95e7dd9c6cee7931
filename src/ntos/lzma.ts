// The xz codec for .json.xz symbol files (@napi-rs/lzma), loaded on first use: it is a native
// addon (finding and dlopen-ing it costs ~10 ms), and most runs read no xz file at all.
import { onFirstUse } from '../on-first-use.ts';

type Lzma = typeof import('@napi-rs/lzma');

const lzma = onFirstUse<Lzma>('@napi-rs/lzma');

export function xzCodec(): Lzma['xz'] {
  return lzma().xz;
}
