// `symbols which` and `symbols convert` live in their own modules.
export { runWhich } from './symbols-which.ts';
export { runConvert } from './symbols-convert.ts';
