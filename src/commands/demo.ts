// Placeholder until this command lands; replaced by its owner.
import { VsmError, ExitCode } from '../errors.ts';
export async function run(_argv: Record<string, unknown>): Promise<number> {
  throw new VsmError('the demo command is not built yet', ExitCode.Internal, 'not-built');
}
