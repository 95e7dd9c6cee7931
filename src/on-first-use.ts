// A module loaded when it is first needed rather than when the CLI starts: each Node built-in or
// addon costs milliseconds to load (node:crypto ~10, node:worker_threads ~7, the xz addon ~10), and
// many runs never use it (--no-hash needs no hash worker; most runs read no xz file).
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A getter that loads `specifier` on its first call and returns the same module after. */
export function onFirstUse<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
