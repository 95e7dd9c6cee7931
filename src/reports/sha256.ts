// SHA-256 of report text (NDJSON entity ids, the HTML page's CSP hashes). node:crypto takes ~10 ms
// to load, so it is loaded on the first digest: a run that writes neither report never pays it.
import { onFirstUse } from '../on-first-use.ts';

const crypto = onFirstUse<typeof import('node:crypto')>('node:crypto');

export function sha256(text: string, encoding: 'hex' | 'base64'): string {
  return crypto().createHash('sha256').update(text, 'utf8').digest(encoding);
}
