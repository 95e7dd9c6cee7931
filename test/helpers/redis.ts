// A real redis-server (the Debian package) for queue tests: its own loopback port and temp dir,
// no persistence, stopped after. No mocks: BullMQ's Lua scripts run against the real thing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export interface RedisHandle {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; a tiny race with other binders is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/** Starts redis-server on a free loopback port with a private working dir under `tmpRoot`. */
export async function startRedis(tmpRoot: string): Promise<RedisHandle> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = join(tmpRoot, `redis-${port}`);
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    child.on('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await ping(port)) {
        const stop = async () => {
          if (child.exitCode === null && child.signalCode === null) {
            const gone = new Promise<void>((r) => child.once('exit', () => r()));
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 5000);
            await gone;
            clearTimeout(t);
          }
          rmSync(dir, { recursive: true, force: true });
        };
        return { url: `redis://127.0.0.1:${port}`, port, process: child, stop };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('redis-server did not start (is the Debian package redis-server installed?)');
}
