// The program: what bin/vsm-forensics.js runs (compiled to dist/src/main.js), and what batch and
// queue workers start for each analysis (src/batch/analyzer.ts). `--version` alone is answered
// here without loading the argument parser, so it costs little more than starting Node.
import { packageInfo } from './package-info.ts';

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${packageInfo().version}\n`);
} else {
  const { main } = await import('./cli.ts');
  process.exitCode = await main(args);
}
