// A Windows command line split into arguments as the C runtime / CommandLineToArgvW do: spaces and
// tabs separate; double quotes group; 2n backslashes before a quote give n backslashes and the quote
// toggles, 2n+1 give n backslashes and a literal quote; other backslashes are literal. The first
// argument (the program) ends at the first space outside quotes and takes backslashes literally.

/** Most arguments kept (ECS process.args); a longer line is summarised by process.args_count. */
export const MAX_ARGS = 256;

export function splitCommandLine(line: string): { args: string[]; count: number } {
  const args: string[] = [];
  let i = 0;
  const n = line.length;
  let count = 0;
  // Program name.
  while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
  if (i >= n) return { args, count: 0 };
  let prog = '';
  let inQuote = false;
  while (i < n && (inQuote || (line[i] !== ' ' && line[i] !== '\t'))) {
    if (line[i] === '"') inQuote = !inQuote;
    else prog += line[i];
    i++;
  }
  args.push(prog);
  count = 1;
  for (;;) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    let arg = '';
    inQuote = false;
    while (i < n && (inQuote || (line[i] !== ' ' && line[i] !== '\t'))) {
      if (line[i] === '\\') {
        let b = 0;
        while (i < n && line[i] === '\\') {
          b++;
          i++;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(b >> 1);
          if (b & 1) {
            arg += '"';
            i++;
          }
        } else arg += '\\'.repeat(b);
        continue;
      }
      if (line[i] === '"') {
        if (inQuote && line[i + 1] === '"') {
          arg += '"';
          i += 2;
          continue;
        }
        inQuote = !inQuote;
        i++;
        continue;
      }
      arg += line[i++];
    }
    count++;
    if (args.length < MAX_ARGS) args.push(arg);
  }
  return { args, count };
}
