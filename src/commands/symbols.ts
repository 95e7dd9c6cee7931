// `vsm-forensics symbols which|convert`: the parent command; each subcommand is a typed module in its own file.
import type { Argv } from 'yargs';
import type { GlobalArgs } from './args.ts';
import { entry } from './catalogue.ts';
import { CONVERT_OPTIONS, convertCommand } from './symbols-convert.ts';
import { WHICH_OPTIONS, whichCommand } from './symbols-which.ts';

export { runWhich } from './symbols-which.ts';
export { runConvert } from './symbols-convert.ts';

const { command, describe } = entry('symbols');
export const cli = {
  options: { ...WHICH_OPTIONS, ...CONVERT_OPTIONS },
  subcommands: ['which', 'convert'],
  register: (y: Argv<GlobalArgs>) =>
    y.command({
      command,
      describe,
      builder: (yy: Argv<GlobalArgs>) => yy.command(whichCommand).command(convertCommand).demandCommand(1, 'name a symbols command: which or convert'),
      handler: () => {},
    }),
};
