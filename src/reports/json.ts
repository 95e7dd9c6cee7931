// The JSON report: the model as it is, two-space indented, always valid UTF-8, one trailing newline.
import type { Report } from './model.ts';
import { jsonStringify } from './sanitize.ts';

export function renderJson(report: Report): string {
  return jsonStringify(report, 2) + '\n';
}
