// Placeholder until this command lands; replaced by its owner.
import { VsmError, ExitCode } from '../errors.ts';
export async function runConvert(_argv: Record<string, unknown>): Promise<number> {
  throw new VsmError('symbols convert is not built yet', ExitCode.Internal, 'not-built');
}
