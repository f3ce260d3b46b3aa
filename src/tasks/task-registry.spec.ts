import { loadConfig } from '../config/configuration';
import { DiagnosticSleepDto } from './definitions/diagnostic.dto';
import { buildJobOptions } from './job-options';
import { TaskRegistry } from './task-registry';
import { DuplicateTaskTypeError, InvalidPayloadError, InvalidPolicyError, UnknownTaskNameError } from './task.errors';

describe('TaskRegistry', () => {
  it('holds only automated_gather_creation unless diagnostics are enabled', () => {
    expect(TaskRegistry.fromConfig(loadConfig({})).names()).toEqual(['automated_gather_creation']);
    const all = TaskRegistry.fromConfig(loadConfig({ ENABLE_DIAGNOSTIC_TASKS: 'true' }));
    expect(all.names().sort()).toEqual([
      'automated_gather_creation',
      'diagnostic.cpu',
      'diagnostic.crash',
      'diagnostic.fail',
      'diagnostic.memory',
      'diagnostic.sleep',
    ]);
    expect(all.queues()).toEqual(['cpu_intensive']);
  });

  it('gives every type the TASK_* policy', () => {
    const r = TaskRegistry.fromConfig(loadConfig({ ENABLE_DIAGNOSTIC_TASKS: 'true', TASK_TIME_LIMIT: '2', TASK_SOFT_TIME_LIMIT: '1', TASK_MAX_RETRIES: '1' }));
    for (const t of r.all()) expect(t.policy).toMatchObject({ timeLimit: 2, softTimeLimit: 1, maxRetries: 1, queue: 'cpu_intensive' });
  });

  it('refuses a name registered twice and an invalid policy', () => {
    const t = TaskRegistry.fromConfig(loadConfig({ ENABLE_DIAGNOSTIC_TASKS: 'true' })).get('diagnostic.sleep');
    expect(() => new TaskRegistry([t, t])).toThrow(DuplicateTaskTypeError);
    expect(() => new TaskRegistry([{ ...t, policy: { ...t.policy, softTimeLimit: t.policy.timeLimit } }])).toThrow(InvalidPolicyError);
  });

  it('names the known types for an unknown one', () => {
    const r = TaskRegistry.fromConfig(loadConfig({}));
    expect(() => r.get('x')).toThrow(UnknownTaskNameError);
    expect(() => r.get('x')).toThrow(/automated_gather_creation/);
  });

  it('validates payloads against the type DTO', () => {
    const r = TaskRegistry.fromConfig(loadConfig({ ENABLE_DIAGNOSTIC_TASKS: 'true' }));
    const sleep = r.get('diagnostic.sleep');
    expect(sleep.payload).toBe(DiagnosticSleepDto);
    expect(() => r.validatePayload(sleep, { seconds: 1 })).not.toThrow();
    expect(() => r.validatePayload(sleep, { seconds: -1 })).toThrow(InvalidPayloadError);
    expect(() => r.validatePayload(sleep, { seconds: 1, extra: true })).toThrow(/extra/);
    expect(() => r.validatePayload(sleep, null)).toThrow(/JSON object/);
  });
});

describe('buildJobOptions', () => {
  const type = TaskRegistry.fromConfig(loadConfig({ TASK_RESULT_EXPIRES: '3600' })).get('automated_gather_creation');

  it('derives attempts and backoff from the policy, and leaves retention to Sluice', () => {
    expect(buildJobOptions(type)).toEqual({
      attempts: 4,
      backoff: { type: 'sluice' },
      removeOnComplete: false,
      removeOnFail: false,
    });
  });

  it('adds priority and delay in milliseconds', () => {
    expect(buildJobOptions(type, { priority: 1, delaySeconds: 1.5 })).toMatchObject({ priority: 1, delay: 1500 });
    expect(buildJobOptions(type, { delaySeconds: 0 })).not.toHaveProperty('delay');
  });
});
