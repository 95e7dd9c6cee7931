// The program: what bin/vsm-forensics.js runs (dist/src/main.js once built), and what batch and
// queue workers start for each analysis (src/batch/analyzer.ts). `--version` alone is answered
// here without loading the argument parser, so it costs little more than starting Node. Built,
// the CLI is one bundle compiled from its shipped V8 code cache (src/compiled-cli.ts); from
// source (tests, tsx) it is src/cli.ts. Built, this file and the loader are CommonJS (Node's ESM
// loader costs ~15 ms of every start): so no top-level await here.
import { packageInfo } from './package-info.ts';

type Cli = typeof import('./cli.ts');

async function start(args: readonly string[]): Promise<void> {
  if (args.length === 1 && args[0] === '--version') {
    process.stdout.write(`${packageInfo().version}\n`);
    return;
  }
  const { loadCompiledBundle } = await import('./compiled-cli.ts');
  const { main } = loadCompiledBundle<Cli>()?.exports ?? (await import('./cli.ts'));
  process.exitCode = await main([...args]);
}

void start(process.argv.slice(2));
