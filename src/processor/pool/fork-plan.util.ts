import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';

/** What `child_process.fork` runs: `execPath ...execArgv modulePath ...args`. */
export interface ForkPlan {
  modulePath: string;
  execPath: string;
  execArgv: string[];
  args: string[];
}

export interface ForkPlanInput {
  entry: string;
  parentPid: number;
  nodePath: string;
  /** setpriv's path when the child should get SIGKILL as its parent-death signal, else null. */
  setpriv: string | null;
  /** Resolves the TypeScript loader; called only for a .ts entry. */
  resolveTsLoader: () => string;
}

export const SETPRIV_PATH = '/usr/bin/setpriv';

/** child/child.main next to the pool, with this file's own extension: .ts under Jest, .js when built. */
export function defaultChildEntry(): string {
  return join(__dirname, '..', 'child', `child.main${extname(__filename)}`);
}

export function setprivIfAvailable(wanted: boolean): string | null {
  return wanted && process.platform === 'linux' && existsSync(SETPRIV_PATH) ? SETPRIV_PATH : null;
}

/**
 * The parent's execArgv is deliberately not inherited: debugger or profiler flags would make every
 * child fight for the same port. A .ts entry (tests) gets the swc loader, a built one plain node.
 * Through setpriv the kernel SIGKILLs the child the moment its parent dies; setpriv then execs node
 * in place, so the pid and the IPC channel are the child's own.
 */
export function forkPlan(input: ForkPlanInput): ForkPlan {
  const nodeArgs = extname(input.entry) === '.ts' ? ['--require', input.resolveTsLoader()] : [];
  if (!input.setpriv) return { modulePath: input.entry, execPath: input.nodePath, execArgv: nodeArgs, args: [String(input.parentPid)] };
  return {
    modulePath: input.entry,
    execPath: input.setpriv,
    execArgv: ['--pdeathsig', 'SIGKILL', '--', input.nodePath, ...nodeArgs],
    // The child needs no watchdog thread of its own then: the kernel kills it with its parent.
    args: [String(input.parentPid), PDEATHSIG_ARG],
  };
}

/** Tells the child that the kernel kills it when its parent dies (setpriv --pdeathsig). */
export const PDEATHSIG_ARG = 'pdeathsig';
