// Placeholder until this command lands; replaced by its owner.
import { VsmError, ExitCode } from '../errors.ts';
export async function runWhich(_argv: Record<string, unknown>): Promise<number> {
  throw new VsmError('symbols which is not built yet', ExitCode.Internal, 'not-built');
}
