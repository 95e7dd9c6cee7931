// Validates a report (or its parsed JSON) against schema/report.schema.json with ajv (draft 2020-12).
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

let compiled: ValidateFunction | undefined;

/** The report JSON Schema, parsed. */
export function reportSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL('./schema/report.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
}

export interface ValidationResult {
  readonly valid: boolean;
  /** One line per error: instance path, message. */
  readonly errors: readonly string[];
}

export function validateReport(report: unknown): ValidationResult {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    compiled = ajv.compile(reportSchema());
  }
  const valid = compiled(report) as boolean;
  const errors = (compiled.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
  return { valid, errors };
}
