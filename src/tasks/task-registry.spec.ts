import { loadConfig } from '../config/configuration';
import { AUTOMATED_GATHER_CREATION } from '../task-types/automated-gather-creation/definition';
import { DIAGNOSTIC_SLEEP_SCHEMA } from '../task-types/diagnostic/payload.schemas';
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

  it("lets a type fix parts of its own policy over the TASK_* defaults; TASK_QUEUE_OVERRIDES still moves it", () => {
    const own = [{ ...AUTOMATED_GATHER_CREATION, policy: { queue: 'cpu_intensive', timeLimit: 30, softTimeLimit: 20 } }];
    const moved = TaskRegistry.fromConfig(loadConfig({ TASK_MAX_RETRIES: '1', TASK_QUEUE_OVERRIDES: 'automated_gather_creation:gather' }), own);
    expect(moved.get('automated_gather_creation').policy).toMatchObject({ queue: 'gather', timeLimit: 30, softTimeLimit: 20, maxRetries: 1, retryBackoff: 60 });
    expect(moved.queues()).toEqual(['gather']);
    expect(() => TaskRegistry.fromConfig(loadConfig({}), [{ ...AUTOMATED_GATHER_CREATION, policy: { queue: 'cpu_intensive', softTimeLimit: 900 } }])).toThrow(InvalidPolicyError);
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

  it("validates payloads against the type's one schema", () => {
    const r = TaskRegistry.fromConfig(loadConfig({ ENABLE_DIAGNOSTIC_TASKS: 'true' }));
    const sleep = r.get('diagnostic.sleep');
    expect(sleep.payload.schema).toBe(DIAGNOSTIC_SLEEP_SCHEMA);
    expect(() => r.validatePayload(sleep, { seconds: 1 })).not.toThrow();
    expect(() => r.validatePayload(sleep, { seconds: -1 })).toThrow(InvalidPayloadError);
    expect(() => r.validatePayload(sleep, { seconds: 1, extra: true })).toThrow(/extra/);
    expect(() => r.validatePayload(sleep, null)).toThrow(/JSON object/);
  });
});

describe('TaskRegistry.validatePayload for automated_gather_creation', () => {
  const r = TaskRegistry.fromConfig(loadConfig({}));
  const gather = r.get('automated_gather_creation');
  const deepFreeze = <T>(v: T): T => {
    if (v && typeof v === 'object') for (const x of Object.values(v)) deepFreeze(x);
    return Object.freeze(v);
  };
  const payload = (n: number) => ({
    participants: Array.from({ length: n }, (_, i) => ({ id: `u${i}`, location: { lat: 52, lon: 4 }, availability: ['sat-18'], interests: ['chess'] })),
    group_size: { min: 2, max: 4 },
  });

  it('reads the payload in place: a deeply frozen one validates', () => {
    expect(() => r.validatePayload(gather, deepFreeze(payload(1000)))).not.toThrow();
  });

  it('checks what the schema cannot say after it: unique ids, min not above max', () => {
    const dup = payload(3);
    dup.participants[2].id = 'u0';
    expect(() => r.validatePayload(gather, dup)).toThrow('Invalid payload: payload.participants: must have unique ids');
    expect(() => r.validatePayload(gather, { ...payload(3), group_size: { min: 5, max: 4 } })).toThrow('Invalid payload: payload.group_size.max: must not be below min');
  });

  it('names the first problem of each field as the class-validator DTOs did', () => {
    const bad = payload(3);
    bad.participants[1].location.lat = 123;
    expect(() => r.validatePayload(gather, bad)).toThrow('Invalid payload: payload.participants[1].location.lat: must not be greater than 90');
    expect(() => r.validatePayload(gather, { ...payload(1), extra: 1, group_size: { min: 'x', max: 4 } })).toThrow(
      'Invalid payload: payload.extra: property extra should not exist; payload.group_size.min: must not be greater than 1000',
    );
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
