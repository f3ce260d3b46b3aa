import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Ajv from 'ajv';
import { TASK_TYPES } from '.';
import type { TaskContext } from './handler.types';

const ROOT = join(__dirname, '..', '..');

function context(): TaskContext {
  const quiet = (): void => undefined;
  return { taskId: 't', attempt: 1, signal: new AbortController().signal, softLimitHit: () => false, progress: quiet, logger: { log: quiet, warn: quiet, error: quiet } };
}

/** The task-type modules a fresh Node process has loaded after requiring `module` (TypeScript through swc). */
function loadedTaskTypeModules(module: string): string[] {
  const script = `require(${JSON.stringify(join(ROOT, module))}); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('/src/task-types/')).map((f) => f.slice(f.indexOf('/src/task-types/') + 16))))`;
  const run = spawnSync(process.execPath, ['--require', '@swc-node/register', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as string[];
}

describe('the task types', () => {
  it('have unique names, and payload and result schemas with unique titles (their OpenAPI component names)', () => {
    const names = TASK_TYPES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    const titles = TASK_TYPES.flatMap((t) => [t.payload.title, t.result.title]);
    expect(titles.every((title) => typeof title === 'string' && /^[A-Z][A-Za-z]+$/.test(title))).toBe(true);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('all run on cpu_intensive by default, and only automated_gather_creation is not diagnostic', () => {
    expect(TASK_TYPES.map((t) => t.policy.queue)).toEqual(TASK_TYPES.map(() => 'cpu_intensive'));
    expect(TASK_TYPES.filter((t) => !t.diagnostic).map((t) => t.name)).toEqual(['automated_gather_creation']);
  });

  describe('results match their result schemas', () => {
    const ajv = new Ajv({ strict: true, keywords: ['example', 'x-pattern-message'] });
    const type = (name: string) => TASK_TYPES.find((t) => t.name === name)!;
    const check = async (name: string, payload: object): Promise<void> => {
      const t = type(name);
      const result = await t.loadHandler().run(payload, context());
      const valid = ajv.compile(t.result);
      valid(result);
      expect(valid.errors ?? []).toEqual([]);
    };

    it.each([
      ['automated_gather_creation', {
        participants: [
          { id: 'u1', location: { lat: 52.37, lon: 4.89 }, availability: ['sat-18'], interests: ['chess'] },
          { id: 'u2', location: { lat: 52.38, lon: 4.9 }, availability: ['sat-18'], interests: ['chess'] },
          { id: 'u3', location: { lat: 52.09, lon: 5.12 }, availability: ['mon-09'], interests: [] },
        ],
        group_size: { min: 2, max: 8 },
        max_distance_km: 10,
      }],
      ['diagnostic.sleep', { seconds: 0 }],
      ['diagnostic.sleep', { seconds: 0.01, progress_steps: 2 }],
      ['diagnostic.cpu', { seconds: 0, ignore_signals: false }],
      ['diagnostic.memory', { mb: 1 }],
    ])('%s %j', (name, payload) => check(name, payload));
  });

  it('load no handler code into the API, nor into a child before its first task', () => {
    for (const module of ['src/api/api.bootstrap.ts', 'src/processor/child/task-handlers.ts']) {
      const loaded = loadedTaskTypeModules(module);
      expect(loaded).toContain('index.ts');
      expect(loaded.filter((f) => /handler|solver/.test(f))).toEqual([]);
    }
  }, 60_000);
});
