import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { TestRedis, startTestRedis } from '../support/redis';

// The 100,001-participant case sends and validates a 15 MB body, twice; slow on a loaded machine.
jest.setTimeout(30_000);

const p = (i: number, extra: object = {}) => ({ id: `u${i}`, location: { lat: 52.37, lon: 4.89 }, availability: ['sat-18'], interests: ['chess'], ...extra });
const g = (extra: object = {}, ps: unknown = [p(0), p(1), p(2)]) => ({ participants: ps, group_size: { min: 2, max: 4 }, ...extra });
const nested = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
/** [case, body, status, detail, [status, detail] of the same item in a batch when they differ] */
const CASES: [string, unknown, number, string | null, [number, string]?][] = [
  ['no task_name', { payload: {} }, 422, "Validation failed: task_name: must be longer than or equal to 1 characters; task_name: must be a string"],
  ['task_name 5', { task_name: 5 }, 422, "Validation failed: task_name: must be longer than or equal to 1 and shorter than or equal to 128 characters; task_name: must be a string"],
  ['payload array', { task_name: 'diagnostic.sleep', payload: [1] }, 422, "Validation failed: payload: must be an object"],
  ['payload string', { task_name: 'diagnostic.sleep', payload: 'x' }, 422, "Validation failed: payload: must be an object"],
  ['payload null', { task_name: 'diagnostic.sleep', payload: null }, 422, "Invalid payload: payload.seconds: must not be greater than 86400"],
  ['extra top', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, extra: 1 }, 422, "Validation failed: extra: property extra should not exist"],
  ['priority 0', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { priority: 0 } }, 422, "Validation failed: options.priority: must not be less than 1"],
  ['delay -1', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { delay_seconds: -1 } }, 422, "Validation failed: options.delay_seconds: must not be less than 0"],
  ['options extra', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { x: 1 } }, 422, "Validation failed: options.x: property x should not exist"],
  ['options array', { task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: [1] }, 422, "Validation failed: options[0]: nested property options must be either object or array"],
  ['unknown name', { task_name: 'nope', payload: {} }, 422, "Unknown task_name 'nope'. Known task names: automated_gather_creation, diagnostic.sleep, diagnostic.cpu, diagnostic.memory, diagnostic.fail, diagnostic.crash"],
  ['sleep missing', { task_name: 'diagnostic.sleep', payload: {} }, 422, "Invalid payload: payload.seconds: must not be greater than 86400"],
  ['sleep no payload', { task_name: 'diagnostic.sleep' }, 422, "Invalid payload: payload.seconds: must not be greater than 86400"],
  ['sleep -1', { task_name: 'diagnostic.sleep', payload: { seconds: -1 } }, 422, "Invalid payload: payload.seconds: must not be less than 0"],
  ['sleep str', { task_name: 'diagnostic.sleep', payload: { seconds: 'x' } }, 422, "Invalid payload: payload.seconds: must not be greater than 86400"],
  ['sleep big', { task_name: 'diagnostic.sleep', payload: { seconds: 1e9 } }, 422, "Invalid payload: payload.seconds: must not be greater than 86400"],
  ['sleep extra', { task_name: 'diagnostic.sleep', payload: { seconds: 1, extra: true } }, 422, "Invalid payload: payload.extra: property extra should not exist"],
  ['sleep 2 extra', { task_name: 'diagnostic.sleep', payload: { seconds: 1, b: 1, a: 2 } }, 422, "Invalid payload: payload.b: property b should not exist; payload.a: property a should not exist"],
  ['sleep pad', { task_name: 'diagnostic.sleep', payload: { seconds: 0, pad: 'xx' } }, 422, "Invalid payload: payload.pad: property pad should not exist"],
  ['sleep nested', { task_name: 'diagnostic.sleep', payload: JSON.parse(nested(62)) }, 422, "Invalid payload: payload.a: property a should not exist; payload.seconds: must not be greater than 86400", [422, "JSON nested deeper than 64 levels (API_JSON_MAX_DEPTH)"]],
  ['sleep extra+bad', { task_name: 'diagnostic.sleep', payload: { seconds: -1, extra: true } }, 422, "Invalid payload: payload.extra: property extra should not exist; payload.seconds: must not be less than 0"],
  ['sleep bad+extra', { task_name: 'diagnostic.sleep', payload: { extra: true, seconds: -1 } }, 422, "Invalid payload: payload.extra: property extra should not exist; payload.seconds: must not be less than 0"],
  ['memory lots', { task_name: 'diagnostic.memory', payload: { mb: 'lots' } }, 422, "Invalid payload: payload.mb: must not be greater than 65536"],
  ['memory 0', { task_name: 'diagnostic.memory', payload: { mb: 0 } }, 422, "Invalid payload: payload.mb: must not be less than 1"],
  ['memory hold -1', { task_name: 'diagnostic.memory', payload: { mb: 1, hold_seconds: -1 } }, 422, "Invalid payload: payload.hold_seconds: must not be less than 0"],
  ['memory hold null', { task_name: 'diagnostic.memory', payload: { mb: 1, hold_seconds: null } }, 422, "Invalid payload: payload.hold_seconds: must not be greater than 86400"],
  ['cpu signals', { task_name: 'diagnostic.cpu', payload: { seconds: 1, ignore_signals: 'yes' } }, 422, "Invalid payload: payload.ignore_signals: must be a boolean value"],
  ['fail bad', { task_name: 'diagnostic.fail', payload: { message: 'm', bad: 1 } }, 422, "Invalid payload: payload.bad: property bad should not exist"],
  ['fail message 5', { task_name: 'diagnostic.fail', payload: { message: 5 } }, 422, "Invalid payload: payload.message: must be longer than or equal to 0 and shorter than or equal to 1000 characters"],
  ['fail message long', { task_name: 'diagnostic.fail', payload: { message: 'x'.repeat(1001) } }, 422, "Invalid payload: payload.message: must be shorter than or equal to 1000 characters"],
  ['fail retryable', { task_name: 'diagnostic.fail', payload: { retryable: 1 } }, 422, "Invalid payload: payload.retryable: must be a boolean value"],
  ['crash extra', { task_name: 'diagnostic.crash', payload: { x: 1 } }, 422, "Invalid payload: payload.x: property x should not exist"],
  ['run_log relative', { task_name: 'diagnostic.crash', payload: { run_log: 'tmp/x' } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['run_log dotdot', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/tmp/../etc' } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['run_log dot', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/tmp/./x' } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['run_log 5', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: 5 } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['run_log short', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/' } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['run_log long', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/' + 'a'.repeat(1100) } }, 422, "Invalid payload: payload.run_log: must be shorter than or equal to 1024 characters"],
  ['run_log missing dir', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/nonexistent-dir-xyz' } }, 201, null],
  ['run_log file', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/etc/hostname' } }, 201, null],
  ['run_log ctrl', { task_name: 'diagnostic.sleep', payload: { seconds: 0, run_log: '/tmp/a\nb' } }, 422, "Invalid payload: payload.run_log: must be an absolute directory path without . or .. segments"],
  ['gather lat', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { location: { lat: 123, lon: 4.89 } }), p(2)]) }, 422, "Invalid payload: payload.participants[1].location.lat: must not be greater than 90"],
  ['gather dup', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1), p(0)]) }, 422, "Invalid payload: payload.participants: must have unique ids"],
  ['gather empty', { task_name: 'automated_gather_creation', payload: g({}, []) }, 422, "Invalid payload: payload.participants: must contain at least 1 elements"],
  ['gather no participants', { task_name: 'automated_gather_creation', payload: { group_size: { min: 2, max: 4 } } }, 422, "Invalid payload: payload.participants: must contain no more than 100000 elements"],
  ['gather participants obj', { task_name: 'automated_gather_creation', payload: g({}, { a: 1 }) }, 422, "Invalid payload: payload.participants: must contain no more than 100000 elements"],
  ['gather participant null', { task_name: 'automated_gather_creation', payload: g({}, [p(0), null]) }, 422, "Invalid payload: payload.participants[1]: each value in nested property participants must be either object or array"],
  ['gather participant num', { task_name: 'automated_gather_creation', payload: g({}, [p(0), 5]) }, 422, "Invalid payload: payload.participants[1]: each value in nested property participants must be either object or array"],
  ['gather participant extra', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { x: 1 })]) }, 422, "Invalid payload: payload.participants[1].x: property x should not exist"],
  ['gather id empty', { task_name: 'automated_gather_creation', payload: g({}, [p(0), { ...p(1), id: '' }]) }, 422, "Invalid payload: payload.participants[1].id: must be longer than or equal to 1 characters"],
  ['gather id num', { task_name: 'automated_gather_creation', payload: g({}, [p(0), { ...p(1), id: 7 }]) }, 422, "Invalid payload: payload.participants[1].id: must be longer than or equal to 1 and shorter than or equal to 128 characters"],
  ['gather no location', { task_name: 'automated_gather_creation', payload: g({}, [p(0), { id: 'u1', availability: [], interests: [] }]) }, 422, "Invalid payload: payload.participants[1].location: nested property location must be either object or array"],
  ['gather location str', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { location: 'x' })]) }, 422, "Invalid payload: payload.participants[1].location: nested property location must be either object or array"],
  ['gather lon', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { location: { lat: 1, lon: 200 } })]) }, 422, "Invalid payload: payload.participants[1].location.lon: must not be greater than 180"],
  ['gather lat str', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { location: { lat: 'a', lon: 2 } })]) }, 422, "Invalid payload: payload.participants[1].location.lat: must not be greater than 90"],
  ['gather loc extra', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { location: { lat: 1, lon: 2, z: 1 } })]) }, 422, "Invalid payload: payload.participants[1].location.z: property z should not exist"],
  ['gather avail str', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { availability: 'sat' })]) }, 422, "Invalid payload: payload.participants[1].availability: must contain no more than 336 elements"],
  ['gather avail num', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { availability: [1] })]) }, 422, "Invalid payload: payload.participants[1].availability: each value in availability must be longer than or equal to 1 and shorter than or equal to 64 characters"],
  ['gather avail empty str', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { availability: ['a', ''] })]) }, 422, "Invalid payload: payload.participants[1].availability: each value in availability must be longer than or equal to 1 and shorter than or equal to 64 characters"],
  ['gather avail many', { task_name: 'automated_gather_creation', payload: g({}, [p(0), p(1, { availability: Array.from({ length: 337 }, (_, i) => `s${i}`) })]) }, 422, "Invalid payload: payload.participants[1].availability: must contain no more than 336 elements"],
  ['gather interests missing', { task_name: 'automated_gather_creation', payload: g({}, [p(0), { id: 'u1', location: { lat: 1, lon: 1 }, availability: [] }]) }, 422, "Invalid payload: payload.participants[1].interests: each value in interests must be longer than or equal to 1 characters"],
  ['gather group min 1', { task_name: 'automated_gather_creation', payload: g({ group_size: { min: 1, max: 4 } }) }, 422, "Invalid payload: payload.group_size.min: must not be less than 2"],
  ['gather group min>max', { task_name: 'automated_gather_creation', payload: g({ group_size: { min: 5, max: 4 } }) }, 422, "Invalid payload: payload.group_size.max: must not be below min"],
  ['gather group min float', { task_name: 'automated_gather_creation', payload: g({ group_size: { min: 2.5, max: 4 } }) }, 422, "Invalid payload: payload.group_size.min: must be an integer number"],
  ['gather group missing', { task_name: 'automated_gather_creation', payload: { participants: [p(0)] } }, 422, "Invalid payload: payload.group_size: nested property group_size must be either object or array"],
  ['gather group str', { task_name: 'automated_gather_creation', payload: g({ group_size: 'x' }) }, 422, "Invalid payload: payload.group_size: nested property group_size must be either object or array"],
  ['gather group extra', { task_name: 'automated_gather_creation', payload: g({ group_size: { min: 2, max: 4, y: 1 } }) }, 422, "Invalid payload: payload.group_size.y: property y should not exist"],
  ['gather group max 2000', { task_name: 'automated_gather_creation', payload: g({ group_size: { min: 2, max: 2000 } }) }, 422, "Invalid payload: payload.group_size.max: must not be greater than 1000"],
  ['gather dist 0', { task_name: 'automated_gather_creation', payload: g({ max_distance_km: 0 }) }, 422, "Invalid payload: payload.max_distance_km: must not be less than 0.001"],
  ['gather dist str', { task_name: 'automated_gather_creation', payload: g({ max_distance_km: 'x' }) }, 422, "Invalid payload: payload.max_distance_km: must not be greater than 20100"],
  ['gather dist null', { task_name: 'automated_gather_creation', payload: g({ max_distance_km: null }) }, 422, "Invalid payload: payload.max_distance_km: must not be greater than 20100"],
  ['gather extra', { task_name: 'automated_gather_creation', payload: g({ foo: 1 }) }, 422, "Invalid payload: payload.foo: property foo should not exist"],
  ['gather too many', { task_name: 'automated_gather_creation', payload: g({}, Array.from({ length: 100_001 }, (_, i) => ({ id: `u${i}`, location: { lat: 1, lon: 1 }, availability: ['a'], interests: [] }))) }, 422, "Invalid payload: payload.participants: must contain no more than 100000 elements"],
];

const BATCH_CASES: [string, object, number, string][] = [
  ['batch empty', { tasks: [] }, 422, "Validation failed: tasks: must contain at least 1 elements"],
  ['batch none', {}, 422, "Validation failed: tasks: each value in tasks must be an object; tasks: must contain no more than 1000 elements; tasks: must contain at least 1 elements; tasks: must be an array"],
  ['batch nonobj', { tasks: [1, 2] }, 422, "Validation failed: tasks: each value in tasks must be an object"],
  ['batch 1001', { tasks: Array.from({ length: 1001 }, () => ({ task_name: 'diagnostic.sleep', payload: { seconds: 0 } })) }, 422, "Validation failed: tasks: must contain no more than 1000 elements"],
  ['batch extra', { tasks: [{ task_name: 'diagnostic.sleep', payload: { seconds: 0 } }], x: 1 }, 422, "Validation failed: x: property x should not exist"],
  ['batch null item', { tasks: [null] }, 422, "Validation failed: tasks: each value in tasks must be an object"],
  ['batch tasks obj', { tasks: { a: 1 } }, 422, "Validation failed: tasks: must contain no more than 1000 elements; tasks: must contain at least 1 elements; tasks: must be an array"],
];

/**
 * Every 422 of a submit route, word for word. The messages were recorded from the class-validator
 * DTOs that the payload schemas replaced, so clients that match on them see no change; the five
 * payloads those DTOs let through by mistake (null or missing nested values, min above max) are
 * refused now.
 */
describe('submit validation messages', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  const post = (path: string, body: unknown) => request(app.getHttpServer()).post(path).set('X-API-Key', TEST_API_KEY).send(body as object);
  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startApi(testConfig(redis, { API_BODY_LIMIT_MB: '30' }));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it.each(CASES)('%s', async (_name, body, status, detail, ...inBatch) => {
    const one = await post('/api/v1/tasks', body);
    expect([one.status, one.status < 300 ? null : one.body.detail]).toEqual([status, detail]);
    const batch = await post('/api/v1/tasks/batch', { tasks: [body] });
    const item = batch.status === 200 ? [batch.body.items[0].status_code, batch.body.items[0].detail ?? null] : [batch.status, batch.body.detail];
    expect(item).toEqual(inBatch[0] ?? [status, detail]);
  });

  it.each(BATCH_CASES)('batch: %s', async (_name, body, status, detail) => {
    const res = await post('/api/v1/tasks/batch', body);
    expect([res.status, res.body.detail]).toEqual([status, detail]);
  });
});
