import { defaultChildEntry, forkPlan } from './fork-plan.util';

describe('forkPlan', () => {
  const base = { parentPid: 42, nodePath: '/usr/bin/node', setpriv: null, resolveTsLoader: () => '/app/node_modules/@swc-node/register/index.js' };

  it('runs a built entry with plain node and passes the parent pid', () => {
    expect(forkPlan({ ...base, entry: '/app/dist/processor/child/child.main.js' })).toEqual({
      modulePath: '/app/dist/processor/child/child.main.js',
      execPath: '/usr/bin/node',
      execArgv: [],
      args: ['42'],
    });
  });

  it('loads a .ts entry through the swc loader, without resolving it otherwise', () => {
    const resolveTsLoader = jest.fn(() => '/loader.js');
    expect(forkPlan({ ...base, resolveTsLoader, entry: '/app/src/child.main.ts' }).execArgv).toEqual(['--require', '/loader.js']);
    forkPlan({ ...base, resolveTsLoader, entry: '/app/dist/child.main.js' });
    expect(resolveTsLoader).toHaveBeenCalledTimes(1);
  });

  it('goes through setpriv with SIGKILL as the parent-death signal when available', () => {
    const plan = forkPlan({ ...base, setpriv: '/usr/bin/setpriv', entry: '/app/src/child.main.ts' });
    expect(plan.execPath).toBe('/usr/bin/setpriv');
    expect(plan.execArgv).toEqual(['--pdeathsig', 'SIGKILL', '--', '/usr/bin/node', '--require', '/app/node_modules/@swc-node/register/index.js']);
    expect(plan.modulePath).toBe('/app/src/child.main.ts');
    expect(plan.args).toEqual(['42', 'pdeathsig']);
  });
});

describe('defaultChildEntry', () => {
  it('points at the child entry with the running extension', () => {
    expect(defaultChildEntry()).toMatch(/processor\/child\/child\.main\.ts$/);
  });
});
