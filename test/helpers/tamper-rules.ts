// Issue 12's tampering finding ids, written out here independently of src/vsm/tampering.ts so the
// tests notice a rule the analyzer drops or renames.
export const TAMPER_RULE_LIST = [
  'vsm.trustlet-handle-access',
  'vsm.trustlet-remote-thread',
  'vsm.trustlet-user-apc',
  'vsm.trustlet-kernel-apc',
  'vsm.trustlet-private-executable',
  'vsm.trustlet-debug-port',
  'ntos.lsass-handle-access',
  'ntos.injected-code',
] as const;
