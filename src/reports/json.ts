// The JSON report: the model as it is, two-space indented, always valid UTF-8, one trailing newline.
import { jsonChunks } from './json-stream.ts';
import type { Report } from './model.ts';

/** The JSON report in pieces (for writing a large report without holding its whole text). */
export function* renderJsonChunks(report: Report): Generator<string> {
  yield* jsonChunks(report);
  yield '\n';
}

export function renderJson(report: Report): string {
  return [...renderJsonChunks(report)].join('');
}
