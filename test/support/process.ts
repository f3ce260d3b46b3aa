import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Spawned {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point of src/ as its own Node process, as `node dist/<entry>.js` would. */
/** `cwd`: where the entry runs, which is where it looks for a `.env` file. */
export function spawnEntry(entry: string, env: Record<string, string>, cwd = ROOT): Spawned {
  const child = spawn(process.execPath, ['--require', require.resolve('@swc-node/register'), join(ROOT, 'src', entry)], {
    cwd,
    // swc-node reads the tsconfig (decorators) from the working directory unless told where it is.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}
