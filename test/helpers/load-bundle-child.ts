// Loads a bundle directory's cli.cjs through src/compiled-cli.ts in a fresh process (V8 keeps
// compiled scripts in memory, so a second load in the same process never consults the code cache)
// and prints { cache, answer } as JSON; with --write, writes the code cache afterwards.
//   node --import tsx test/helpers/load-bundle-child.ts DIR_URL [--write]
import { loadCompiledBundle } from '../../src/compiled-cli.ts';

const loaded = loadCompiledBundle<{ answer: number }>(new URL(process.argv[2]!));
if (loaded && process.argv[3] === '--write') loaded.writeCodeCache();
process.stdout.write(JSON.stringify(loaded ? { cache: loaded.cache, answer: loaded.exports.answer } : null) + '\n');
