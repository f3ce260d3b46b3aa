/**
 * The front door's fuzz properties, shared by the seeded suite in `npm test`
 * (test/api/fuzz.e2e-spec.ts) and `npm run fuzz` (test/fuzz/run.ts): the request generators, what
 * must hold for every response, the API under test, and the report.
 *
 * The API runs in this process, on a redis-server of its own, with rate limiting off (a limit would
 * turn the fuzz into 429s). Each generated request is written byte for byte on a fresh connection
 * (test/fuzz/raw-client.ts), so malformed HTTP, odd methods and duplicate headers get through.
 */
import fc from 'fast-check';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { AppConfig } from '../../src/config/configuration';
import { REDIS_CLIENT } from '../../src/redis/redis.module';
import { taskEventId } from '../../src/tasks-api/task-event-stream';
import { presentTask } from '../../src/tasks-api/task-presenter';
import { TASK_TYPES } from '../../src/task-types';
import { QueuePauses } from '../../src/tasks/operator/queue-pauses.service';
import { TaskCancellation } from '../../src/tasks/task-cancellation.service';
import { TaskQuery } from '../../src/tasks/task-query.service';
import { TaskQueues } from '../../src/tasks/task-queues';
import { FINAL_STATUSES, TASK_STATUSES } from '../../src/tasks/task-status';
import { TaskSubmitter } from '../../src/tasks/task-submitter.service';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { TestRedis, startTestRedis } from '../support/redis';
import { Framing, WireOutcome, WireRequest, WireResponse, exchange } from './raw-client';

export const SECOND_KEY = 'second-key-abcdefghijkl';
/** The service's own rule for a caller's X-Request-Id (src/edge/request-context.ts). */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Properties whose appearance on any built-in prototype means a request polluted it. */
export const CANARY_KEYS = ['polluted', 'isAdmin', 'sluiceFuzzCanary'] as const;

/** The routes and kinds of request the fuzz covers; the report and the suite count by these. */
export const ROUTE_KINDS = [
  'POST /api/v1/tasks',
  'POST /api/v1/tasks/batch',
  'GET /api/v1/tasks',
  'GET /api/v1/tasks/{id}',
  'DELETE /api/v1/tasks/{id}',
  'GET /api/v1/tasks/{id}?wait=N',
  'GET /api/v1/tasks/{id}/events',
  'POST /api/v1/tasks/{id}/retry',
  'POST /api/v1/tasks/cancel',
  'POST /api/v1/queues/{queue}/pause',
  'POST /api/v1/queues/{queue}/resume',
  'GET /api/v1/tasks/metrics',
  'GET /api/v1/tasks/health',
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /docs',
  'GET /docs-json',
  'GET /admin/queues (page, assets)',
  'GET /admin/queues/api (board JSON)',
  'PUT /admin/queues/api (board actions)',
  'unknown path',
  'wrong method',
  'malformed HTTP',
] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

export interface FuzzRequest extends WireRequest {
  kind: RouteKind;
  /**
   * Whether the request carries a key the server accepts: exactly one valid X-API-Key, or, on the
   * routes that take Basic (a task's events, the job inspection UI) and without X-API-Key, a first
   * `Authorization: Basic` whose password is a valid key.
   */
  validKey: boolean;
  /** The X-Request-Id sent, when exactly one was. */
  requestId?: string;
  /**
   * An event stream of a task that is final throughout the fuzz: it must answer one event and end,
   * within the timeout like any answer.
   */
  finalStream?: true;
}

/** A task the harness cancelled before the fuzz, which the fuzz never retries: final throughout. */
export interface FinalTask {
  id: string;
  /** The id of its event stream's one event: as Last-Event-ID, the stream answers 204. */
  eventId: string;
}

/** The real tasks and queues the generators use, besides random and malformed ids. */
export interface TaskPools {
  /**
   * Tasks submitted before the fuzz, so that GET, DELETE and the rest also meet real ones: pending
   * (held back an hour) at first; DELETE, bulk cancel and retry change them.
   */
  knownTaskIds: string[];
  /** Tasks cancelled before the fuzz, so that a retry meets one; the fuzz may retry and cancel them. */
  retryableTaskIds: string[];
  finalTasks: FinalTask[];
  /** The queues of the registered task types. */
  queues: string[];
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const str = (s: string): string => JSON.stringify(s);
const objText = (entries: [string, string][]): string => `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const latin1 = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c === 0x7f ? 0x20 : c)), maxLength: 40 });
const ascii = fc.string({ unit: 'binary-ascii', maxLength: 40 });

/** A huge JSON string literal: the character repeated (multi-byte and escaped ones too). */
const hugeStringText = fc
  .tuple(fc.constantFrom(1000, 64 * 1024, 300_000, 1_100_000), fc.constantFrom('x', 'é', '😀', '\\u0000', '\\"', '\\\\'))
  .map(([n, c]) => `"${c.repeat(c.length > 2 ? Math.ceil(n / c.length) : n)}"`);

/** Nesting past API_JSON_MAX_DEPTH (64) and around it, in objects, arrays, both, or never closed. */
const deepText = fc.tuple(fc.constantFrom(2, 32, 63, 64, 65, 66, 100, 1000, 5000, 20_000), fc.constantFrom('object', 'array', 'mixed', 'unclosed', 'in-string')).map(([n, style]) => {
  if (style === 'object') return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  if (style === 'array') return `${'['.repeat(n)}1${']'.repeat(n)}`;
  if (style === 'mixed') return `${'[{"a":'.repeat(Math.ceil(n / 2))}1${'}]'.repeat(Math.ceil(n / 2))}`;
  if (style === 'unclosed') return '['.repeat(n);
  // Brackets inside a string are not nesting.
  return str('[{'.repeat(n));
});

/** Keys that prototype pollution uses, escaped forms included, and the canaries. */
const specialKeyText = fc.constantFrom(
  '"__proto__"',
  '"\\u005f\\u005fproto\\u005f\\u005f"',
  '"constructor"',
  '"prototype"',
  '"toString"',
  '"hasOwnProperty"',
  '"valueOf"',
  ...CANARY_KEYS.map(str),
);

/** Bodies that try to pollute Object.prototype, each setting a canary. */
const pollutionText = fc.constantFrom(...CANARY_KEYS).chain((canary) =>
  fc.constantFrom(
    `{"__proto__":{${str(canary)}:"yes"}}`,
    `{"\\u005f_proto__":{${str(canary)}:"yes"}}`,
    `{"constructor":{"prototype":{${str(canary)}:"yes"}}}`,
    `{"__proto__":[{${str(canary)}:"yes"}]}`,
    `{"a":{"__proto__":{${str(canary)}:true}},"constructor":{"prototype":{${str(canary)}:1}}}`,
    `{"prototype":{${str(canary)}:"yes"},"__proto__ ":{${str(canary)}:"yes"}}`,
  ),
);

/** Number tokens as JSON text, including ones JSON.parse turns into Infinity or -0. */
const numberText = fc.oneof(
  w(3, fc.constantFrom('0', '1', '-1', '0.5', '2', '86400', '86401', '-0', '1e20', '1E+20', '1e400', '-1e400', '1e-400', '100000000000000000000', '2097152', '2097153', '0.0000001')),
  w(2, fc.integer().map(String)),
  w(1, fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d))),
  w(1, fc.constantFrom('"5"', 'null', 'true', '[]', '{}', '"NaN"', '""')),
);

const scalarText = fc.oneof(
  w(3, numberText),
  w(3, fc.string({ maxLength: 20 }).map(str)),
  w(1, fc.string({ unit: 'grapheme', maxLength: 20 }).map(str)),
  w(1, fc.constantFrom('true', 'false', 'null')),
);

const keyText = fc.oneof(w(6, fc.string({ maxLength: 12 }).map(str)), w(2, specialKeyText), w(1, fc.constantFrom('"task_name"', '"payload"', '"options"', '"tasks"', '""')));

/** Random JSON as text: objects may repeat keys and carry pollution keys. */
const { value: randomJsonText } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarText, tie('object'), tie('array')),
  object: fc.array(fc.tuple(keyText, tie('value')), { maxLength: 5 }).map(objText),
  array: fc.array(tie('value'), { maxLength: 5 }).map((vs) => `[${vs.join(',')}]`),
}));

/** Any value a field might be sent: right-ish, wrong type, random, huge, deep, or polluting. */
const anyValueText = fc.oneof(w(6, randomJsonText), w(1, hugeStringText), w(1, deepText), w(1, pollutionText));

const taskNameText = fc.oneof(
  w(8, fc.constantFrom(...TASK_TYPES.map((t) => t.name)).map(str)),
  w(2, fc.string({ maxLength: 40 }).map(str)),
  w(1, fc.constantFrom('""', str('x'.repeat(128)), str('x'.repeat(129)), str('diagnostic.sleep '), str('DIAGNOSTIC.SLEEP'), str('__proto__'), str('constructor'))),
  w(1, fc.constantFrom('1', 'null', '[]', '{}', 'true', '["diagnostic.sleep"]')),
  w(1, hugeStringText),
);

const payloadText = fc.oneof(
  w(4, fc.tuple(fc.constantFrom('seconds', 'mb', 'hold_seconds', 'message', 'retryable', 'ignore_signals'), numberText).map(([k, v]) => objText([[str(k), v]]))),
  w(2, fc.tuple(numberText, fc.option(fc.tuple(keyText, anyValueText), { nil: undefined })).map(([s, extra]) => objText([['"seconds"', s], ...(extra ? [extra] : [])]))),
  w(1, fc.constantFrom('{"seconds":0,"run_log":"/tmp/../etc"}', '{"seconds":0,"run_log":"relative"}', '{"participants":[],"group_size":{"min":2,"max":1}}', '{"participants":"x"}')),
  w(2, anyValueText),
  w(1, fc.constantFrom('[]', '"x"', '1', 'null', 'true')),
  w(1, pollutionText),
  w(1, deepText.map((d) => objText([['"seconds"', '0'], ['"x"', d]]))),
  w(1, hugeStringText.map((h) => objText([['"seconds"', '0'], ['"pad"', h]]))),
);

const optionsText = fc.oneof(
  w(4, fc
    .record(
      {
        priority: numberText,
        delay_seconds: numberText,
        idempotency_key: fc.oneof(fc.string({ maxLength: 30 }).map(str), fc.constantFrom('""', str('k'.repeat(256)), str('k'.repeat(257)), str('has space'), str('tab\t'), str('ünïcode'), '1', 'null'), hugeStringText),
      },
      { requiredKeys: [] },
    )
    .map((o) => objText(Object.entries(o).map(([k, v]) => [str(k), v])))),
  w(1, fc.constantFrom('[]', '"x"', '1', 'null')),
  w(1, pollutionText),
  w(1, anyValueText),
);

/** The submit envelope, most fields plausible, the rest anything. */
const envelopeText = fc
  .tuple(fc.option(taskNameText, { nil: undefined, freq: 8 }), fc.option(payloadText, { nil: undefined, freq: 5 }), fc.option(optionsText, { nil: undefined, freq: 2 }), fc.array(fc.tuple(keyText, anyValueText), { maxLength: 2 }))
  .map(([name, payload, options, extra]) => {
    const entries: [string, string][] = [];
    if (name !== undefined) entries.push(['"task_name"', name]);
    if (payload !== undefined) entries.push(['"payload"', payload]);
    if (options !== undefined) entries.push(['"options"', options]);
    return objText([...entries, ...extra]);
  });

/**
 * A valid submission of a diagnostic task (no worker runs in the fuzz, so it only waits), with valid
 * options; idempotency keys come from a small pool, so replays (200) and conflicts (409) happen too.
 */
const validEnvelopeText = fc
  .tuple(
    fc.constantFrom(
      '"diagnostic.sleep","payload":{"seconds":0}',
      '"diagnostic.sleep","payload":{"seconds":86400,"run_log":"/var/tmp/x"}',
      '"diagnostic.cpu","payload":{"seconds":1,"ignore_signals":false}',
      '"diagnostic.fail","payload":{"message":"boom","retryable":false}',
      '"diagnostic.crash","payload":{}',
      '"diagnostic.memory","payload":{"mb":1,"hold_seconds":0}',
      '"diagnostic.crash"',
    ),
    fc.record(
      {
        priority: fc.integer({ min: 1, max: 2_097_152 }),
        delay_seconds: fc.oneof(fc.constant(3600), fc.double({ min: 0, max: 365 * 24 * 3600, noNaN: true })),
        idempotency_key: fc.integer({ min: 0, max: 20 }).map((n) => `fuzz-${n}`),
      },
      { requiredKeys: ['delay_seconds'] },
    ),
  )
  .map(([task, options]) => `{"task_name":${task},"options":${JSON.stringify(options)}}`);

const batchText = fc.oneof(
  w(6, fc.array(fc.oneof(w(3, envelopeText), w(1, validEnvelopeText), w(1, fc.constantFrom('1', 'null', '"x"', '[]', '{}')), w(1, pollutionText)), { minLength: 1, maxLength: 6 }).map((items) => `{"tasks":[${items.join(',')}]}`)),
  w(1, fc.constantFrom(1000, 1001, 5000).map((n) => `{"tasks":[${Array.from({ length: n }, () => '{"task_name":"x"}').join(',')}]}`)),
  w(1, fc.constantFrom('{"tasks":[]}', '{"tasks":{}}', '{"tasks":"x"}', '{"tasks":null}', '{}', '{"tasks":[[]]}', '{"tasks":[1],"extra":1}')),
  w(1, anyValueText.map((v) => objText([['"tasks"', v]]))),
);

/**
 * Other than the route's own shape and a valid body, what a JSON body may be: junk of every kind,
 * near-misses of the route's own body among it, and a huge string where the route reads one.
 */
const junkBodyText = (shape: fc.Arbitrary<string>, nearMisses: string[], huge: (h: string) => string) => [
  w(1, fc.constantFrom('', ' ', '\n', '[]', '"task"', '42', 'null', 'true', '{', ...nearMisses, '{"a":1}/*c*/', 'NaN')),
  w(1, shape.map((s) => `${s}garbage`)),
  w(1, fc.string({ maxLength: 60 })),
  w(2, randomJsonText),
  w(1, deepText),
  w(1, pollutionText),
  w(1, hugeStringText.map(huge)),
];

/** What a body may be on the two POST routes: the route's own shape mostly, anything else too. */
const postBodyText = (shape: fc.Arbitrary<string>, kind: 'single' | 'batch') =>
  fc.oneof(
    w(12, shape),
    w(6, kind === 'batch' ? fc.array(validEnvelopeText, { minLength: 1, maxLength: 20 }).map((items) => `{"tasks":[${items.join(',')}]}`) : validEnvelopeText),
    ...junkBodyText(shape, ['{"task_name":', "{'task_name':'x'}", '\ufeff{"task_name":"diagnostic.sleep","payload":{"seconds":0}}'], (h) =>
      objText([['"task_name"', '"diagnostic.sleep"'], ['"payload"', objText([['"seconds"', '0'], ['"pad"', h]])]]),
    ),
  );

const contentTypeHeader = fc.oneof(
  w(14, fc.constant('application/json')),
  w(2, fc.constant('application/json; charset=utf-8')),
  w(3, fc.constantFrom(
    undefined,
    '',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'APPLICATION/JSON',
    'application/jsonx',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/vnd.api+json',
    'application/json, text/plain',
    '*/*',
    'application/json;;;',
    ';',
  )),
  w(1, latin1),
);

/** Credentials sent; `valid` says whether the server accepts them (see FuzzRequest.validKey). */
type KeyHeaders = { headers: [string, string][]; valid: boolean };
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

/** X-API-Key variants; `valid` says whether exactly one accepted key is sent. */
const apiKeyHeaders = (usuallyValid: boolean, takesBasic = false): fc.Arbitrary<KeyHeaders> =>
  fc.oneof(
    w(usuallyValid ? 14 : 1, fc.constant({ headers: [['X-API-Key', TEST_API_KEY]] as [string, string][], valid: true })),
    w(usuallyValid ? 2 : 1, fc.constant({ headers: [['x-api-key', SECOND_KEY]] as [string, string][], valid: true })),
    // Whitespace around a header value is not part of it (RFC 9110 5.5): still the valid key.
    w(1, fc.constantFrom(` ${TEST_API_KEY}`, `${TEST_API_KEY} `, `${TEST_API_KEY}\t`).map((v) => ({ headers: [['X-API-Key', v]] as [string, string][], valid: true }))),
    w(usuallyValid ? 4 : 8, fc.oneof(
      fc.constant<[string, string][]>([]),
      fc.constantFrom('', ' ', TEST_API_KEY.toUpperCase(), TEST_API_KEY.slice(0, -1), `${TEST_API_KEY}x`, `${TEST_API_KEY},${TEST_API_KEY}`, 'null', 'undefined', `Bearer ${TEST_API_KEY}`).map((v): [string, string][] => [['X-API-Key', v]]),
      latin1.map((v): [string, string][] => [['X-API-Key', v]]),
      fc.constantFrom(8_000, 17_000, 40_000).map((n): [string, string][] => [['X-API-Key', 'k'.repeat(n)]]),
      fc.constant<[string, string][]>([['X-API-Key', TEST_API_KEY], ['X-API-Key', TEST_API_KEY]]),
      fc.constant<[string, string][]>([['X-API-Key', 'wrong'], ['X-API-Key', TEST_API_KEY]]),
      fc.constant<[string, string][]>([['Authorization', `Bearer ${TEST_API_KEY}`]]),
    ).map((headers) => ({ headers, valid: false }))),
    // Basic is taken only on a task's events and the job inspection UI: anywhere else it is no key.
    w(1, fc.constant<KeyHeaders>({ headers: [['Authorization', basic('ops', TEST_API_KEY)]], valid: takesBasic })),
  );

/**
 * `Authorization: Basic` (the key as the password, any user name), as a browser sends it to a
 * task's events and the job inspection UI. Node keeps the first of repeated Authorization headers.
 */
const basicAuthHeaders: fc.Arbitrary<KeyHeaders> = fc.oneof(
  w(6, fc.tuple(fc.constantFrom('ops', '', 'fuzz', 'é', 'a b'), fc.constantFrom(TEST_API_KEY, SECOND_KEY)).map(([u, k]): KeyHeaders => ({ headers: [['Authorization', basic(u, k)]], valid: true }))),
  // The scheme is case-insensitive and may be followed by several spaces.
  w(1, fc.constantFrom(TEST_API_KEY, SECOND_KEY).map((k): KeyHeaders => ({ headers: [['Authorization', basic('ops', k).replace('Basic ', 'basic   ')]], valid: true }))),
  w(1, fc.constant<KeyHeaders>({ headers: [['Authorization', basic('ops', TEST_API_KEY)], ['Authorization', basic('ops', 'wrong-key-0123456789')]], valid: true })),
  w(5, fc
    .oneof(
      fc.constantFrom(
        basic('ops', 'wrong-key-0123456789'),
        basic('ops', ''),
        basic(TEST_API_KEY, ''),
        basic('ops', `${TEST_API_KEY} `),
        basic('ops', TEST_API_KEY.toUpperCase()),
        `Basic ${Buffer.from(TEST_API_KEY).toString('base64')}`,
        `Basic ${Buffer.from(`ops:${TEST_API_KEY}`).toString('base64').replace(/=+$/, '')}`,
        `Basic ${Buffer.from(`ops:${TEST_API_KEY}`).toString('base64url')}`,
        basic('ops', TEST_API_KEY).replace('Basic ', 'Digest '),
        basic('ops', TEST_API_KEY).replace('Basic ', 'Basic'),
        'Basic %%%',
        'Basic YQ=',
        'Basic ',
        'Basic',
        `Basic ${'A'.repeat(5000)}`,
        `Basic ${Buffer.from(`ops:${'k'.repeat(4000)}`).toString('base64')}`,
        `Bearer ${TEST_API_KEY}`,
      ),
      latin1.map((v) => `Basic ${v}`),
    )
    .map((v): KeyHeaders => ({ headers: [['Authorization', v]], valid: false }))),
  w(1, fc.constant<KeyHeaders>({ headers: [['Authorization', basic('ops', 'wrong-key-0123456789')], ['Authorization', basic('ops', TEST_API_KEY)]], valid: false })),
);

/**
 * The credentials of a route that takes Basic as well as X-API-Key. X-API-Key, when sent at all
 * (empty too), is the one credential read: Basic beside it is not.
 */
const keyOrBasicHeaders = (usuallyValid: boolean): fc.Arbitrary<KeyHeaders> =>
  fc.oneof(
    w(3, apiKeyHeaders(usuallyValid, true)),
    w(2, basicAuthHeaders),
    w(1, fc
      .tuple(fc.constantFrom<[string, boolean]>([TEST_API_KEY, true], [SECOND_KEY, true], ['wrong-key-0123456789', false], ['', false]), basicAuthHeaders)
      .map(([[key, valid], b]): KeyHeaders => ({ headers: [['X-API-Key', key], ...b.headers], valid }))),
  );

/** X-Request-Id: none, a safe one (echoed back), or one the service must replace. */
type RequestIdHeaders = { headers: [string, string][]; id?: string };
const requestIdHeaders: fc.Arbitrary<RequestIdHeaders> = fc.oneof(
  w(4, fc.constant<RequestIdHeaders>({ headers: [] })),
  w(3, fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/).map((id): RequestIdHeaders => ({ headers: [['X-Request-Id', id]], id }))),
  w(3, fc
    .oneof(
      fc.constantFrom('', ' ', 'a b', 'x request_id=forged', 'id\twith-tab', '${jndi:ldap://x}', '<script>', 'a'.repeat(129), 'é', '../../etc', 'a,b'),
      latin1,
      fc.stringMatching(/^[A-Za-z0-9._:-]{129,300}$/),
    )
    .map((id): RequestIdHeaders => ({ headers: [['X-Request-Id', id]] }))),
  w(1, fc.constant<RequestIdHeaders>({ headers: [['X-Request-Id', 'one'], ['X-Request-Id', 'two']] })),
);

/** Other headers a client may send; some are huge, many, or about framing and upgrades. */
const extraHeaders = fc.oneof(
  w(12, fc.constant<[string, string][]>([])),
  w(4, fc.constantFrom<[string, string][]>(
      [['Accept', 'text/html']],
      [['Accept', '*/*;q=garbage']],
      [['Accept-Encoding', 'gzip, br, zstd']],
      [['Content-Encoding', 'gzip']],
      [['Content-Encoding', 'x-unknown']],
      [['Expect', '100-continue']],
      [['Expect', 'something-else']],
      [['X-Forwarded-For', '1.2.3.4, 5.6.7.8']],
      [['X-Forwarded-For', 'not-an-ip']],
      [['X-Forwarded-Proto', 'javascript']],
      [['Forwarded', 'for=evil;proto=https']],
      [['Origin', 'https://evil.example']],
      [['Cookie', 'a=b; __proto__=x']],
      [['Range', 'bytes=0-1']],
      [['If-None-Match', '*']],
      [['Upgrade', 'websocket'], ['Connection', 'Upgrade']],
      [['Upgrade', 'h2c']],
      [['Transfer-Encoding', 'gzip']],
      [['__proto__', 'x']],
      [['constructor', 'x']],
  )),
  w(1, fc.constantFrom(9_000, 17_000, 64_000).map((n): [string, string][] => [['X-Huge', 'h'.repeat(n)]])),
  w(1, fc.constantFrom(50, 200, 2000).map((n): [string, string][] => Array.from({ length: n }, (_, i) => [`X-Many-${i}`, 'v']))),
  w(2, fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), latin1).map((h): [string, string][] => [h])),
);

const hostHeaders = fc.oneof(
  w(20, fc.constant<[string, string][]>([['Host', '127.0.0.1']])),
  w(1, fc.constantFrom<[string, string][]>([], [['Host', '']], [['Host', 'evil.example:99999']], [['Host', '127.0.0.1'], ['Host', 'evil.example']], [['Host', 'a b']])),
);

const framingArb = fc.oneof(w(60, fc.constant<Framing>('length')), w(6, fc.constant<Framing>('chunked')), w(2, fc.constantFrom<Framing>('both', 'unframed')), w(1, fc.constantFrom<Framing>('truncated', 'stalled-headers')));

/** Odd ids: real tasks, random and malformed UUIDs, long, percent-encoded junk, path tricks. */
const idSegment = (known: string[]) =>
  fc.oneof(
    w(3, fc.uuid()),
    ...(known.length ? [w(3, fc.constantFrom(...known))] : []),
    w(1, fc.constantFrom('metrics', 'health', 'batch')),
    w(4, fc.oneof(
      fc.constantFrom('', 'a', '0', '-1', 'NaN', 'null', 'undefined', '%ff', '%00', '%2f', '%2F..%2F', '%2e%2e', '..', '.', '%', '%zz', '%E2%80%AE', ';', '*', '{id}', '__proto__', 'constructor', 'x?limit=-1', 'x/extra', 'x/', '\u00e9'),
      fc.constantFrom(1024, 1025, 5000).map((n) => 'a'.repeat(n)),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.uuid().map((u) => `${u}x`),
      fc.uuid().map((u) => `${u}/cancel`),
      fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
      fc.webSegment(),
    )),
  );

const limitValue = fc.oneof(
  w(4, fc.constantFrom('-1', '0', '1', '20', '100', '101', 'NaN', 'Infinity', '-Infinity', '1e20', '100000000000000000000', '1.5', '0x10', ' 5', '5 ', '', 'abc', 'null', 'true', '[]', '{}', '1'.repeat(400))),
  w(1, fc.integer().map(String)),
  w(1, fc.string({ maxLength: 10 })),
);
const cursorValue = fc.oneof(
  w(4, fc.constantFrom('0', '1', '123', '1'.repeat(16), '1'.repeat(17), '-1', 'abc', '1e5', '', '9'.repeat(16), '0x1', ' 1', '\u0000', '%ff')),
  w(1, fc.string({ maxLength: 20 })),
  w(1, fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)),
);
const queryPair = fc.oneof(
  w(4, limitValue.map((v) => ['limit', v] as [string, string])),
  w(3, cursorValue.map((v) => ['cursor', v] as [string, string])),
  w(2, fc.oneof(fc.constantFrom(...TASK_STATUSES), fc.constantFrom('PENDING', '', 'all', 'pending,failed'), fc.string({ maxLength: 10 })).map((v) => ['status', v] as [string, string])),
  w(2, fc.oneof(fc.constantFrom(...TASK_TYPES.map((t) => t.name)), fc.constantFrom('', 'x'.repeat(128), 'x'.repeat(129)), fc.string({ maxLength: 10 })).map((v) => ['task_name', v] as [string, string])),
  w(2, fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', '__proto__[polluted]', 'constructor[prototype][polluted]', 'prototype', 'limit[]', 'toString', 'hasOwnProperty', 'unknown', ''), fc.string({ maxLength: 8 })), fc.string({ maxLength: 8 }))),
);
/** A query string; values encoded, or (sometimes) written raw so that junk reaches the parser. */
const queryString = fc
  .tuple(fc.array(fc.tuple(queryPair, fc.boolean()), { maxLength: 4 }), fc.oneof(w(30, fc.constant('')), w(1, fc.constantFrom(2_000, 20_000).map((n) => `&pad=${'p'.repeat(n)}`))))
  .map(([pairs, pad]) => {
    const q = pairs.map(([[k, v], encode]) => (encode ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`)).join('&') + pad;
    return q === '' ? '' : `?${q}`;
  });

const ODD_METHODS = ['OPTIONS', 'TRACE', 'PATCH', 'PUT', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'QUERY', 'REPORT', 'LINK', 'SUBSCRIBE', 'M-SEARCH', 'SOURCE', 'FOO', 'get', 'BREW', 'CONNECT'];

/** Paths no route has, probing traversal, encodings, case and slashes. */
const unknownPath = fc.oneof(
  w(3, fc.constantFrom(
    '/', '/api', '/api/', '/api/v1', '/api/v2/tasks', '/API/v1/tasks', '//api/v1/tasks', '/api/v1/tasks/', '/api/v1//tasks', '/api/v1/tasks/a/b',
    '/health', '/health/', '/healthz', '/health/live/', '/health/ready/x', '/metrics/', '/Metrics', '/metrics.json', '/docs-yaml', '/docs/../docs-json', '/docs/%2e%2e/docs-json',
    '/docs/swagger-ui-init.js.map', '/docs/nonexistent.js', '/.env', '/%ff', '/%', '/%00', '/..%2f..%2fetc%2fpasswd', '/static/../../etc/passwd', '/favicon.ico', '/index.html',
    '/api/v1/tasks%2fmetrics', '/api%2fv1%2ftasks', '/health%2flive', '/%68ealth/live', '/api/%76%31/tasks', '*', 'http://evil.example/health/live', '/a?b#c',
    '/api/v1/queues', '/api/v1/queues/', '/api/v1/queues/cpu_intensive', '/api/v1/queues/cpu_intensive/pause/x', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/events/x',
    '/api/v1/tasks/cancel/x', '/admin', '/admin/', '/admin/queuesx', '/ADMIN/QUEUES', '/admin%2fqueues',
  )),
  w(1, fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`))),
  w(1, fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map(encodeURIComponent), { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`)),
);

/** Known paths with a method they do not answer, and odd methods anywhere. */
const wrongMethod = (known: string[]) =>
  fc.oneof(
    w(3, fc.constantFrom<[string, string]>(
      ['PUT', '/api/v1/tasks'], ['PATCH', '/api/v1/tasks'], ['DELETE', '/api/v1/tasks'], ['PUT', '/api/v1/tasks/batch'], ['GET', '/api/v1/tasks/batch'],
      ['POST', '/api/v1/tasks/metrics'], ['DELETE', '/api/v1/tasks/health'], ['PUT', '/api/v1/tasks/00000000-0000-4000-8000-000000000000'],
      ['POST', '/api/v1/tasks/00000000-0000-4000-8000-000000000000'], ['POST', '/health/live'], ['DELETE', '/health/ready'], ['PUT', '/metrics'],
      ['POST', '/metrics'], ['POST', '/docs-json'], ['DELETE', '/docs'], ['POST', '/docs/swagger-ui.css'],
      ['GET', '/api/v1/tasks/cancel'], ['PUT', '/api/v1/tasks/cancel'], ['DELETE', '/api/v1/tasks/cancel'], ['GET', '/api/v1/queues/cpu_intensive/pause'],
      ['DELETE', '/api/v1/queues/cpu_intensive/resume'], ['PUT', '/api/v1/queues/cpu_intensive/pause'], ['POST', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/events'],
      ['DELETE', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/events'], ['GET', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/retry'],
      ['DELETE', '/api/v1/tasks/00000000-0000-4000-8000-000000000000/retry'],
    )),
    w(2, fc.tuple(fc.constantFrom(...ODD_METHODS), fc.constantFrom('/api/v1/tasks', '/api/v1/tasks/batch', '/api/v1/tasks/cancel', '/api/v1/queues/cpu_intensive/pause', '/health/live', '/metrics', '/docs', '/docs-json', '/api/v1/tasks/00000000-0000-4000-8000-000000000000', ...known.map((id) => `/api/v1/tasks/${id}`)))),
    w(1, fc.tuple(fc.constantFrom(...ODD_METHODS), unknownPath)),
  );

/** Bytes that are not (quite) HTTP, for Node's parser and Fastify's framework errors. */
const malformedHttp = fc.oneof(
  w(4, fc.constantFrom(
    'GET / HTTP/1.1\r\n\r\n',
    'GET /health/live HTTP/1.0\r\n\r\n',
    'GET /health/live\r\n\r\n',
    'GET /health/live HTTP/2.0\r\nHost: x\r\n\r\n',
    'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    'GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
    'GET /health/live HTTP/1.1\nHost: x\n\n',
    'GET http://evil.example/health/live HTTP/1.1\r\nHost: x\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
    'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n',
    `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{"a":1}`,
    `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n`,
    `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n`,
    `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n`,
    'GET\t/health/live HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /he alth/live HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /health/live\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    '\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${TEST_API_KEY}\r\n\r\nGET /api/v1/tasks/metrics HTTP/1.1\r\nHost: x\r\n\r\n`,
  )),
  w(1, fc.string({ unit: 'binary', maxLength: 200 })),
  w(1, fc.string({ maxLength: 80 }).map((s) => `GET ${s} HTTP/1.1\r\nHost: x\r\n\r\n`)),
);

/** A request-target, with headers that go with it and how its answer is read, when it has any. */
type Target = string | { target: string; headers?: [string, string][]; untilFirstEvent?: true; finalStream?: true };

/**
 * Assembles a request of one kind from the header, body and framing generators. `keys`: whether
 * the key is usually valid (X-API-Key), or the credentials to send.
 */
function assemble(
  kind: RouteKind,
  method: fc.Arbitrary<string>,
  target: fc.Arbitrary<Target>,
  body: fc.Arbitrary<string | undefined>,
  keys: boolean | fc.Arbitrary<KeyHeaders>,
): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method,
      target,
      body,
      key: typeof keys === 'boolean' ? apiKeyHeaders(keys) : keys,
      rid: requestIdHeaders,
      host: hostHeaders,
      contentType: contentTypeHeader,
      extra: extraHeaders,
      framing: framingArb,
    })
    .map(({ method: m, target: to, body: b, key, rid, host, contentType, extra, framing }) => {
      const t = typeof to === 'string' ? { target: to } : to;
      const headers: [string, string][] = [...host, ['Connection', 'close'], ...key.headers, ...rid.headers, ...(t.headers ?? [])];
      if (b !== undefined && contentType !== undefined) headers.push(['Content-Type', contentType]);
      headers.push(...extra);
      return withToString({
        kind,
        method: m,
        target: t.target,
        headers,
        body: b,
        framing: b === undefined && framing !== 'stalled-headers' ? 'length' : framing,
        validKey: key.valid,
        requestId: rid.id,
        ...(t.untilFirstEvent ? { untilFirstEvent: true as const } : {}),
        ...(t.finalStream ? { finalStream: true as const } : {}),
      });
    });
}

const noBody = fc.oneof(w(9, fc.constant(undefined)), w(1, fc.oneof(randomJsonText, fc.constantFrom('', 'x'.repeat(70_000)))));

/** What the job inspection UI's buttons send (`{}`), mostly; else nothing, or anything. */
const boardBody = fc.oneof(w(8, fc.constant('{}')), w(2, fc.constant(undefined)), w(1, fc.constantFrom('{"name":"x","data":{}}', '', 'x'.repeat(70_000))), w(1, randomJsonText), w(1, pollutionText));

const anyOf = <T>(values: readonly T[], fallback: T): fc.Arbitrary<T> => (values.length ? fc.constantFrom(...values) : fc.constant(fallback));

/** Tasks that may not be final when the request is sent: the known ones and the retryable ones. */
const liveIds = (pools: TaskPools): string[] => [...pools.knownTaskIds, ...pools.retryableTaskIds];
const finalIds = (pools: TaskPools): string[] => pools.finalTasks.map((t) => t.id);
/** Every real task of the pools, live or final. */
const taskIds = (pools: TaskPools): string[] => [...liveIds(pools), ...finalIds(pools)];
/** A well-formed id of no task: the fallback of an empty pool. */
const NO_TASK = '00000000-0000-4000-8000-000000000000';

/** A queue name: a real one mostly, else a near miss, a prototype key, an encoding, junk. */
const queueSegment = (queues: string[]) =>
  fc.oneof(
    w(6, anyOf(queues, 'cpu_intensive')),
    w(3, fc.oneof(
      fc.constantFrom('', 'CPU_INTENSIVE', 'cpu-intensive', 'cpu_intensive%20', '%20cpu_intensive', '%63pu_intensive', 'cpu_intensive%00', 'cpu_intensive;x', 'cpu_intensive%2fpause'),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '..', '.', '%2e%2e', '%', '%ff', '%zz', '*', '{queue}', ':queue', 'é', '%E2%80%AE', 'bull', 'default'),
      fc.constantFrom(129, 1025).map((n) => 'q'.repeat(n)),
      fc.webSegment(),
      fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
    )),
  );

/**
 * `wait` of the long poll, in three sets: short (at most 0.1 s, for any task), long (up to the cap
 * of 60 s: only for a task that is final or not there, which answers at once), and refused (422:
 * over the cap, negative, not a plain decimal, repeated). Random text never reads as a number.
 */
const shortWait = fc.constantFrom('0', '0.0', '0.01', '0.02', '0.05', '00.03', '0.1', `0.${'0'.repeat(400)}1`);
const longWait = fc.constantFrom('1', '5', '30', '59.999', '60', '60.0', '060', '1.5');
const refusedWait = fc.oneof(
  w(4, fc.constantFrom('61', '60.001', '600', '1'.repeat(400), '-1', '-0', '-0.5', '+5', '1e3', '1e-3', '1E1', '0x10', '0b1', '.5', '5.', ' 5', '5 ', '5,5', '1/2', 'NaN', 'Infinity', '-Infinity', 'abc', 'null', 'true', 'false', '[]', '{}', '%', '%ff', '\u0000', '٣')),
  w(1, fc.string({ maxLength: 8 }).filter((v) => !/^\s*[+]?\d*\.?\d*\s*$/.test(v))),
);
const waitQuery = (wait: fc.Arbitrary<string>) =>
  fc.oneof(
    w(8, wait.map((v) => `?wait=${encodeURIComponent(v)}`)),
    w(1, wait.map((v) => `?wait=${v}`).filter((q) => !/[#\s]/.test(q))),
    w(1, fc.constantFrom('?wait=', '?wait', '?wait=0.01&wait=0.01', '?wait[]=0.01', '?wait[a]=1', '?WAIT=30', '?wait=0.01&limit=1', '?wait=0.01&__proto__=1', '?wait=0.01&constructor[prototype][polluted]=1', '?wait=0.01;wait=60', '?wait=%30.01')),
  );
/** GET /api/v1/tasks/{id}?wait=N: long waits only where the answer is immediate. */
const longPollTarget = (pools: TaskPools): fc.Arbitrary<string> =>
  fc.oneof(
    w(3, fc.tuple(anyOf(liveIds(pools), NO_TASK), waitQuery(fc.oneof(w(2, shortWait), w(3, refusedWait)))).map(([id, q]) => `/api/v1/tasks/${id}${q}`)),
    w(4, fc.tuple(anyOf(finalIds(pools), NO_TASK), waitQuery(fc.oneof(w(2, shortWait), w(3, longWait), w(3, refusedWait)))).map(([id, q]) => `/api/v1/tasks/${id}${q}`)),
    // Unknown and malformed ids (idSegment's `x?limit=-1` brings a query of its own: the wait joins it).
    w(3, fc.tuple(idSegment([]), waitQuery(fc.oneof(shortWait, longWait, refusedWait))).map(([id, q]) => `/api/v1/tasks/${id}${id.includes('?') ? q.replace('?', '&') : q}`)),
  );

/** Last-Event-ID: none, one of the form this server sends (matching no state: a fresh start), or junk (ignored). */
const lastEventIdHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
  w(6, fc.constant<[string, string][]>([])),
  w(2, fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((id): [string, string][] => [['Last-Event-ID', id]])),
  w(2, fc.oneof(fc.constantFrom('', ' ', 'a'.repeat(65), 'has space', '../x', '%00', 'é', 'a,b', '${jndi:x}'), latin1).map((id): [string, string][] => [['Last-Event-ID', id]])),
  w(1, fc.constant<[string, string][]>([['Last-Event-ID', 'a'], ['Last-Event-ID', 'b']])),
);
/** The events route reads no query: `?wait=` and the like are ignored. */
const eventsQuery = fc.oneof(w(8, fc.constant('')), w(1, fc.constantFrom('?wait=60', '?wait=abc', '?last_event_id=x', '?retry=0', '?__proto__[polluted]=1')), w(1, queryString));
/**
 * GET /api/v1/tasks/{id}/events. A stream stays open until its task is final, so: final tasks
 * mostly (one event, then the stream ends; 204 when resumed from that event), unknown and malformed
 * ids (404), and, less often, tasks that may be live, whose stream is read until its first event.
 */
const eventsTarget = (pools: TaskPools): fc.Arbitrary<Target> =>
  fc.oneof(
    ...(pools.finalTasks.length
      ? [w(6, fc.tuple(fc.constantFrom(...pools.finalTasks), fc.oneof(w(2, lastEventIdHeaders), w(1, fc.constant('resume' as const))), eventsQuery).map(([t, h, q]): Target => ({ target: `/api/v1/tasks/${t.id}/events${q}`, headers: h === 'resume' ? [['Last-Event-ID', t.eventId]] : h, finalStream: true })))]
      : []),
    w(4, fc.tuple(idSegment([]), lastEventIdHeaders).map(([id, h]): Target => ({ target: `/api/v1/tasks/${id}/events`, headers: h }))),
    ...(liveIds(pools).length ? [w(2, fc.tuple(fc.constantFrom(...liveIds(pools)), lastEventIdHeaders, eventsQuery).map(([id, h, q]): Target => ({ target: `/api/v1/tasks/${id}/events${q}`, headers: h, untilFirstEvent: true })))] : []),
  );

/** ISO 8601 times for submitted_before; all parse, or are refused (422). */
const isoTimeText = fc.oneof(
  w(3, fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((d) => str(d.toISOString()))),
  w(3, fc.constantFrom(
    '2030-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '2024-02-29T00:00:00Z', '2024-01-01', '2024-01', '2024', '2009-05-19T14:39Z', '2009-05-19 14:39:22',
    '2009-05-19T14:39:22.123456789Z', '2024-01-01T00:00:00+14:00', '2024-01-01T00:00:00.000+0530', '9999-12-31T23:59:59.999Z',
    // Refused:
    '2024-02-30T00:00:00Z', '2023-02-29', '2024-01-01T25:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00+25:00', '+275760-09-13T00:00:00.000Z',
    '+275760-09-13T00:00:00.001Z', '-000001-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2009-366', '2024-1-1', 'now', '', ' 2024-01-01',
  ).map(str)),
  // ISO 8601 forms that IsISO8601({ strict: true }) accepts and Date.parse reads as NaN, refused (422):
  // week and ordinal dates, the basic format, a decimal comma and an hour alone.
  w(1, fc.constantFrom('2009-W01-1', '2009W011', '2009-123', '2009123', '20090519', '20090519T143922Z', '2009-05-19T14:39:22,5Z', '2009-05-19T14', '2024-01-01T00Z').map(str)),
  w(1, fc.constantFrom('1', '0', 'null', 'true', '[]', '{}', '1700000000000')),
  w(1, fc.string({ maxLength: 12 }).filter((v) => !/^[\d\sWT:.,+-]*$/.test(v)).map(str)),
);
const taskIdText = (pools: TaskPools) =>
  fc.oneof(
    w(3, anyOf(taskIds(pools), NO_TASK).map(str)),
    w(2, fc.uuid().map(str)),
    w(1, fc.constantFrom('""', str('x'.repeat(128)), str('x'.repeat(129)), '1', 'null', 'true', '[]', '{}', str('__proto__'), str('%00'), str('00000000-0000-4000-8000-000000000000 '))),
    w(1, fc.string({ maxLength: 20 }).map(str)),
  );
const cancellableStatusText = fc.oneof(w(4, fc.constantFrom('pending', 'retrying', 'processing').map(str)), w(1, fc.constantFrom(...TASK_STATUSES, 'PENDING', '', 'all', 'pending,retrying').map(str)), w(1, fc.constantFrom('null', '1', '[]', '["pending"]')));
const bulkLimitText = fc.oneof(w(3, fc.constantFrom('1', '2', '10', '1000', '1001', '0', '-1', '1.5', '1e3', '"10"', 'null', '1e400')), w(1, fc.integer().map(String)));
const bulkCursorText = fc.oneof(w(3, fc.constantFrom('"0"', '"1"', '"123"', str('9'.repeat(16)), str('9'.repeat(17)), '"-1"', '"abc"', '""', '1', 'null', '" 1"')), w(1, fc.bigInt({ min: 0n, max: 10n ** 20n }).map((n) => str(String(n)))));
/** POST /api/v1/tasks/cancel: task_ids, or a filter with limit and cursor; sometimes both, or neither. */
const bulkCancelText = (pools: TaskPools) =>
  fc.oneof(
    w(4, fc.array(taskIdText(pools), { minLength: 1, maxLength: 6 }).map((ids) => `{"task_ids":[${ids.join(',')}]}`)),
    w(1, fc.constantFrom(1000, 1001).map((n) => `{"task_ids":[${Array.from({ length: n }, (_, i) => str(`t-${i}`)).join(',')}]}`)),
    w(1, fc.constantFrom('{"task_ids":[]}', '{"task_ids":"x"}', '{"task_ids":null}', '{"task_ids":{}}', '{"task_ids":[["a"]]}')),
    w(5, fc
      .record(
        { task_name: taskNameText, status: cancellableStatusText, submitted_before: isoTimeText, limit: bulkLimitText, cursor: bulkCursorText },
        { requiredKeys: [] },
      )
      .map((o) => objText(Object.entries(o).map(([k, v]) => [str(k), v])))),
    w(1, fc.tuple(taskIdText(pools), cancellableStatusText).map(([id, st]) => `{"task_ids":[${id}],"status":${st}}`)),
    w(1, fc.tuple(keyText, anyValueText).map(([k, v]) => objText([[k, v]]))),
  );


/** The board's job ids: real tasks (jobs of the same id), unknown and malformed ones. */
const boardJobId = (ids: string[]) => fc.oneof(w(4, anyOf(ids, NO_TASK)), w(2, fc.uuid()), w(2, fc.constantFrom('x', '0', '1', '__proto__', 'constructor', '%2e%2e', '%ff', 'a'.repeat(1025), 'repeat:x', 'é')));

/** The job inspection UI's page (any queue or job: the page is the same), its assets, and paths near them. */
const boardPage = (pools: TaskPools) =>
  fc.oneof(
    w(4, fc.constantFrom('/admin/queues', '/admin/queues/', '/admin/queues/metrics-history', '/admin/queues/job-schedulers', '/admin/queues/static/images/logo.svg', '/admin/queues/static/favicon-32x32.png', '/admin/queues/static/favicon.ico')),
    w(2, fc.tuple(queueSegment(pools.queues), fc.option(boardJobId(taskIds(pools)), { nil: undefined })).map(([q, id]) => `/admin/queues/queue/${q}${id === undefined ? '' : `/${id}`}`)),
    w(2, fc.constantFrom(
      '/admin/queues/static/', '/admin/queues/static/nothing.js', '/admin/queues/static/../../../package.json', '/admin/queues/static/%2e%2e/%2e%2e/package.json',
      '/admin/queues/static/..%2f..%2fpackage.json', '/admin/queues/static/images/logo.svg%00', '/admin/queues/static/images/LOGO.SVG', '/admin/queues/nothing',
      '/admin/queues/api', '/admin/queues/api/', '/admin/queues/api/metrics/history', '/admin/queues/queue/', '/admin/queues/queue/%ff', '/admin/queues//', '/admin/queues?x=1',
      '/admin/queues/?__proto__[polluted]=1', '/admin/queues/queue/cpu_intensive?status=nope', '/ADMIN/queues', '/admin/queuesx', '/admin', '/admin/', '/admin/queues%2fapi%2fqueues',
    )),
  );
const boardStatus = fc.constantFrom('latest', 'active', 'waiting', 'waiting-children', 'prioritized', 'completed', 'failed', 'delayed', 'paused');
const boardQueuesQuery = fc
  .record(
    {
      // Some are not valid percent-encoding once decoded (`%`, `%zz`, sent as %25, %25zz): the board
      // decodes activeQueue a second time, and answers 400.
      activeQueue: fc.oneof(fc.constantFrom('cpu_intensive', 'nothing', '__proto__', '', '%63pu_intensive', '%2541', '%', '%zz', '%E0%A4%A'), fc.string({ maxLength: 10 })),
      status: boardStatus,
      // Far past the jobs too (page=9007199254740993 × 50 is past what BullMQ's Lua can print as an
      // integer): an empty page.
      page: fc.constantFrom('1', '2', '1000', '1e3', '99999', '9007199254740993', '0', '-1', 'x'),
      jobsPerPage: fc.constantFrom('1', '10', '50', '1000'),
      extra: fc.constantFrom('__proto__=1', 'constructor[prototype][polluted]=1', 'toString=x', 'unknown=1'),
    },
    { requiredKeys: [] },
  )
  .map((o) => {
    const q = Object.entries(o).map(([k, v]) => (k === 'extra' ? v : `${k}=${encodeURIComponent(v)}`)).join('&');
    return q ? `?${q}` : '';
  });
/**
 * The board's JSON routes: real and unknown queues and jobs (Bull Board answers those 404 itself,
 * with a `detail` added on the way out; a GET of an action path such as .../cpu_intensive/pause
 * reads as job `pause`), valid, invalid and repeated query values (its own 400). Odd queue names
 * and ids go to the board's actions, which answer through Sluice.
 */
const boardApi = (pools: TaskPools) => {
  const queue = fc.oneof(w(4, anyOf(pools.queues, 'cpu_intensive')), w(1, fc.constantFrom('nothing', '__proto__', '%7Bcpu_intensive%7D', 'CPU_INTENSIVE')));
  const job = fc.oneof(w(4, anyOf(taskIds(pools), NO_TASK)), w(1, fc.constantFrom('pause', 'resume', 'x', '0', 'constructor')));
  return fc.oneof(
    w(4, boardQueuesQuery.map((q) => `/admin/queues/api/queues${q}`)),
    w(1, fc.constantFrom('?status=xx', '?status=waiting&status=active', '?jobsPerPage=0', '?page=1&page=2', '?activeQueue=a&activeQueue=b', '?jobsPerPage=1e400').map((q) => `/admin/queues/api/queues${q}`)),
    w(1, fc.constantFrom('/admin/queues/api/redis/stats', '/admin/queues/api/job-schedulers', '/admin/queues/api/job-schedulers?queueName=cpu_intensive', '/admin/queues/api/job-schedulers?queueName=nothing')),
    w(2, fc.tuple(queue, fc.constantFrom('metrics', 'default-job-options', 'workers', 'rate-limit', 'job-data-schema')).map(([q, r]) => `/admin/queues/api/queues/${q}/${r}`)),
    w(3, fc.tuple(queue, job, fc.constantFrom('', '/logs', '/flow', '/flow?root=node&depth=0&maxChildren=99999', '/flow?depth=x&depth=y', '/flow?maxChildren=-1&root=__proto__')).map(([q, id, r]) => `/admin/queues/api/queues/${q}/${id}${r}`)),
  );
};
/**
 * The board's mutations. Sluice's four (a job's retry and clean, a queue's pause and resume) act
 * through Sluice for admin keys and answer 403 to others; every other one answers 405 with Allow,
 * whoever asks. A retry never names a final task of the pools.
 */
const boardAction = (pools: TaskPools): fc.Arbitrary<[string, string]> => {
  const q = queueSegment(pools.queues);
  const id = boardJobId(liveIds(pools));
  return fc.oneof(
    w(3, fc.tuple(q, id).map(([qn, j]): [string, string] => ['PUT', `/admin/queues/api/queues/${qn}/${j}/retry`])),
    w(2, fc.tuple(q, boardJobId(taskIds(pools))).map(([qn, j]): [string, string] => ['PUT', `/admin/queues/api/queues/${qn}/${j}/clean`])),
    w(3, fc.tuple(fc.constantFrom('pause', 'resume'), q).map(([a, qn]): [string, string] => ['PUT', `/admin/queues/api/queues/${qn}/${a}`])),
    w(4, fc
      .tuple(
        fc.constantFrom(
          ['PUT', '/pause'], ['PUT', '/resume'], ['PUT', '/{q}/retry/failed'], ['PUT', '/{q}/retry/completed'], ['PUT', '/{q}/promote'], ['PUT', '/{q}/clean/completed'],
          ['PUT', '/{q}/concurrency'], ['PUT', '/{q}/rate-limit'], ['PUT', '/{q}/rate-limit/release'], ['PUT', '/{q}/empty'], ['PUT', '/{q}/obliterate'],
          ['PUT', '/{q}/job-schedulers/x/remove'], ['PATCH', '/{q}/job-schedulers/x'], ['PUT', '/{q}/job-schedulers/x/run'], ['PUT', '/{q}/{id}/promote'],
          ['PATCH', '/{q}/{id}/update-data'], ['PATCH', '/{q}/{id}/delay'], ['PATCH', '/{q}/{id}/priority'], ['PUT', '/{q}/{id}/remove-unprocessed-children'], ['POST', '/{q}/add'],
          ['DELETE', '/{q}/{id}'], ['POST', '/{q}/{id}/retry'], ['POST', '/{q}/pause'], ['DELETE', '/{q}/resume'], ['OPTIONS', '/{q}/{id}/clean'], ['PUT', '/{q}/{id}'], ['PUT', ''],
        ),
        q,
        id,
      )
      .map(([[m, path], qn, j]): [string, string] => [m, `/admin/queues/api/queues${path.replace('{q}', qn).replace('{id}', j)}`])),
    w(1, fc.tuple(fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND'), fc.constantFrom('/admin/queues', '/admin/queues/static/images/logo.svg', '/admin/queues/queue/cpu_intensive', '/admin/queues/api/redis/stats', '/admin/queues/nothing'))),
  );
};

/** Every kind of request, weighted towards the routes with the most surface. */
export function fuzzRequests(pools: TaskPools): fc.Arbitrary<FuzzRequest> {
  const knownTaskIds = pools.knownTaskIds;
  const post = fc.oneof(w(12, fc.constant('POST')), w(1, fc.constantFrom('PUT', 'PATCH')));
  const get = fc.oneof(w(12, fc.constant('GET')), w(1, fc.constant('HEAD')));
  const fixed = (kind: RouteKind, path: string, usuallyValid = false) => assemble(kind, get, fc.tuple(fc.constant(path), queryString).map(([p, q]) => p + q), noBody, usuallyValid);
  const bulkBody = bulkCancelText(pools);
  return fc.oneof(
    w(20, assemble('POST /api/v1/tasks', post, fc.constant('/api/v1/tasks'), postBodyText(envelopeText, 'single'), true)),
    w(10, assemble('POST /api/v1/tasks/batch', post, fc.constant('/api/v1/tasks/batch'), postBodyText(batchText, 'batch'), true)),
    w(12, assemble('GET /api/v1/tasks', get, queryString.map((q) => `/api/v1/tasks${q}`), noBody, true)),
    w(9, assemble('GET /api/v1/tasks/{id}', get, idSegment(knownTaskIds).map((id) => `/api/v1/tasks/${id}`), noBody, true)),
    w(7, assemble('DELETE /api/v1/tasks/{id}', fc.constant('DELETE'), idSegment(knownTaskIds).map((id) => `/api/v1/tasks/${id}`), noBody, true)),
    w(4, assemble('GET /api/v1/tasks/{id}?wait=N', get, longPollTarget(pools), noBody, true)),
    w(5, assemble('GET /api/v1/tasks/{id}/events', get, eventsTarget(pools), noBody, keyOrBasicHeaders(true))),
    w(4, assemble('POST /api/v1/tasks/{id}/retry', post, idSegment(liveIds(pools)).map((id) => `/api/v1/tasks/${id}/retry`), noBody, true)),
    w(6, assemble('POST /api/v1/tasks/cancel', post, fc.constant('/api/v1/tasks/cancel'), fc.oneof(w(12, bulkBody), ...junkBodyText(bulkBody, ['{"task_ids":', "{'task_ids':['x']}", '\ufeff{"status":"pending"}'], (h) => objText([['"task_ids"', `[${h}]`]]))), true)),
    w(2, assemble('POST /api/v1/queues/{queue}/pause', post, queueSegment(pools.queues).map((q) => `/api/v1/queues/${q}/pause`), noBody, true)),
    w(2, assemble('POST /api/v1/queues/{queue}/resume', post, queueSegment(pools.queues).map((q) => `/api/v1/queues/${q}/resume`), noBody, true)),
    w(3, fixed('GET /api/v1/tasks/metrics', '/api/v1/tasks/metrics', true)),
    w(3, fixed('GET /api/v1/tasks/health', '/api/v1/tasks/health', true)),
    w(3, fixed('GET /health/live', '/health/live')),
    w(3, fixed('GET /health/ready', '/health/ready')),
    w(3, fixed('GET /metrics', '/metrics')),
    w(3, assemble('GET /docs', get, fc.constantFrom('/docs', '/docs/', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs/index.html', '/docs/favicon-32x32.png'), noBody, false)),
    w(3, fixed('GET /docs-json', '/docs-json')),
    w(2, assemble('GET /admin/queues (page, assets)', get, boardPage(pools), noBody, keyOrBasicHeaders(true))),
    w(4, assemble('GET /admin/queues/api (board JSON)', get, boardApi(pools), noBody, keyOrBasicHeaders(true))),
    w(4, boardAction(pools).chain(([m, p]) => assemble('PUT /admin/queues/api (board actions)', fc.constant(m), fc.constant(p), boardBody, keyOrBasicHeaders(true)))),
    w(6, assemble('unknown path', fc.constantFrom('GET', 'GET', 'POST', 'DELETE', 'HEAD'), unknownPath, noBody, true)),
    w(6, wrongMethod(knownTaskIds).chain(([m, p]) => assemble('wrong method', fc.constant(m), fc.constant(p), noBody, true))),
    w(4, malformedHttp.map((raw) => withToString({ kind: 'malformed HTTP' as const, method: '', target: '', headers: [], framing: 'length' as const, raw, validKey: false }))),
  );
}

/** fast-check prints counterexamples with this: huge values abridged, so a report stays readable. */
function withToString(req: FuzzRequest): FuzzRequest {
  return Object.assign(req, { [fc.toStringMethod]: () => describeRequest(req) });
}

const abridge = (s: string, max = 160): string => (s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`);

export function describeRequest(req: FuzzRequest): string {
  if (req.raw !== undefined) return `raw ${JSON.stringify(abridge(req.raw, 300))}`;
  const headers = req.headers.map(([k, v]) => `${k}: ${abridge(v, 80)}`).join(' | ');
  const body = req.body === undefined ? 'no body' : `body ${JSON.stringify(abridge(req.body, 300))} (${Buffer.byteLength(req.body)} B, ${req.framing})`;
  return `${req.method} ${abridge(req.target, 200)} [${headers}] ${body}${req.untilFirstEvent ? ', read until its first event' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// What must hold
// ---------------------------------------------------------------------------------------------

export type ViolationKind =
  | 'status>=500'
  | 'no-detail'
  | 'timeout'
  | 'no-response'
  | 'not-http'
  | 'no-request-id'
  | 'request-id-not-echoed'
  | 'no-nosniff'
  | '405-without-allow'
  | '429-without-retry-after'
  | 'auth-bypass'
  | 'pollution'
  | 'error-logged'
  | 'bad-event-stream';

export interface Violation {
  kind: ViolationKind;
  message: string;
}

/** Own keys and values of the built-in prototypes, to see whether a request changed them. */
type PrototypeSnapshot = Map<string, Map<PropertyKey, unknown>>;
const PROTOTYPES: Record<string, object> = {
  Object: Object.prototype,
  Array: Array.prototype,
  Function: Function.prototype,
  String: String.prototype,
  Number: Number.prototype,
  Boolean: Boolean.prototype,
  RegExp: RegExp.prototype,
  Promise: Promise.prototype,
};

export function snapshotPrototypes(): PrototypeSnapshot {
  const snap: PrototypeSnapshot = new Map();
  for (const [name, proto] of Object.entries(PROTOTYPES)) {
    const values = new Map<PropertyKey, unknown>();
    for (const key of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      values.set(key, 'value' in d ? d.value : d.get);
    }
    snap.set(name, values);
  }
  return snap;
}

/** What differs from `before`, and any canary readable from a fresh object, array or function. */
export function pollutionSince(before: PrototypeSnapshot): string[] {
  const found: string[] = [];
  const now = snapshotPrototypes();
  for (const [name, values] of now) {
    const was = before.get(name)!;
    for (const [key, value] of values) if (!was.has(key)) found.push(`${name}.prototype gained ${String(key)}`);
      else if (!Object.is(was.get(key), value)) found.push(`${name}.prototype.${String(key)} was replaced`);
    for (const key of was.keys()) if (!values.has(key)) found.push(`${name}.prototype lost ${String(key)}`);
  }
  for (const canary of CANARY_KEYS) {
    for (const [what, probe] of [['({})', {}], ['[]', []], ['function', () => undefined]] as const) {
      if ((probe as Record<string, unknown>)[canary] !== undefined) found.push(`${what}.${canary} is ${String((probe as Record<string, unknown>)[canary])}`);
    }
  }
  return found;
}

const decodedPath = (target: string): string => {
  const path = target.split('?')[0];
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

/**
 * Statuses that show a request got past authentication: served, its body parsed or validated, or
 * its key identified and found not to be an admin's (403).
 */
const PAST_AUTHENTICATION = new Set([403, 409, 413, 415, 422]);
/** The paths that need a key: the API, and the job inspection UI (ADMIN_UI is on in the fuzz). */
const NEEDS_KEY = /^\/(api|admin\/queues)(\/|$)/;

function detailOf(body: string): string | undefined {
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail;
    return typeof detail === 'string' ? detail : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An ERROR or CRITICAL line: by its JSON level, so that a client's path or header quoted in an
 * INFO line (the access log's) cannot pass for one; a line that is not JSON is judged by its text.
 */
function isErrorLine(line: string): boolean {
  try {
    const level = (JSON.parse(line) as { level?: unknown }).level;
    return level === 'ERROR' || level === 'CRITICAL';
  } catch {
    return /\b(ERROR|FATAL|CRITICAL)\b/.test(line);
  }
}

/** Every property of one exchange, given the log lines written while it ran. */
export function violationsOf(req: FuzzRequest, outcome: WireOutcome, logLines: string[], timeoutMs: number): Violation[] {
  const out: Violation[] = [];
  const v = (kind: ViolationKind, message: string) => out.push({ kind, message });
  const logged = logLines.filter(isErrorLine);
  if (logged.length) v('error-logged', logged.map((l) => abridge(l, 400)).join(' // '));
  if (outcome.kind === 'timeout') {
    v('timeout', `no response within ${timeoutMs} ms; got ${JSON.stringify(outcome.partial)}`);
    return out;
  }
  if (outcome.kind === 'closed') {
    // A CONNECT is a tunnel request: Node's HTTP server closes it when nobody handles tunnels.
    const connect = /^CONNECT /.test(req.raw ?? `${req.method} `);
    if (!connect) v('no-response', `connection closed after ${outcome.ms.toFixed(0)} ms without a response (${outcome.error ?? 'clean close'}); got ${JSON.stringify(outcome.partial)}`);
    return out;
  }
  const { status, headers, body } = outcome;
  const summary = `${status} ${abridge(body, 200)}`;
  if (status < 0) {
    v('not-http', `answer is not HTTP: ${JSON.stringify(abridge(body))}`);
    return out;
  }
  if (outcome.ms > timeoutMs) v('timeout', `answered after ${outcome.ms.toFixed(0)} ms`);
  if (status >= 500) v('status>=500', summary);
  const isHead = req.raw === undefined && req.method === 'HEAD';
  if (status >= 400 && !isHead) {
    const detail = detailOf(body);
    if (!/^application\/json/.test(headers['content-type'] ?? '') || typeof detail !== 'string' || detail === '') v('no-detail', `${summary} (content-type ${headers['content-type'] ?? 'none'})`);
  }
  if (status === 405 && !headers['allow']) v('405-without-allow', summary);
  if (status === 429 && !/^\d+$/.test(headers['retry-after'] ?? '')) v('429-without-retry-after', `Retry-After ${JSON.stringify(headers['retry-after'])} on ${summary}`);
  const rid = headers['x-request-id'];
  if (rid === undefined || !SAFE_REQUEST_ID.test(rid)) v('no-request-id', `X-Request-Id ${JSON.stringify(rid)} on ${summary}`);
  // Node answers 408, 431 and malformed HTTP from the socket, before a request (and its id) exists.
  const beforeRequest = status === 408 || status === 431 || /malformed HTTP/.test(body) || (status === 400 && isHead);
  if (rid !== undefined && req.requestId !== undefined && rid !== req.requestId && !beforeRequest) v('request-id-not-echoed', `sent ${req.requestId}, got ${rid}`);
  if (headers['x-content-type-options'] !== 'nosniff') v('no-nosniff', summary);
  if (req.raw === undefined && !req.validKey && NEEDS_KEY.test(decodedPath(req.target)) && (status < 400 || PAST_AUTHENTICATION.has(status))) {
    v('auth-bypass', `no valid key, yet ${summary}`);
  }
  if (/^text\/event-stream\b/i.test(headers['content-type'] ?? '') && !isHead) {
    const problem = eventStreamProblem(req, outcome);
    if (problem) v('bad-event-stream', `${problem}: ${summary}`);
  }
  return out;
}

/**
 * What is wrong with an event stream: answered by a route other than a task's events, or not 200;
 * an event without an id, a known name, or `data` that is the task as GET shows it (JSON with a
 * task_id and a status); no event at all; or, once ended, a last event whose task is not final
 * (the stream ends only after a final status). A final task's stream must have ended.
 */
function eventStreamProblem(req: FuzzRequest, res: WireResponse): string | undefined {
  if (req.kind !== 'GET /api/v1/tasks/{id}/events') return 'an event stream from another route';
  if (res.status !== 200) return `an event stream answered ${res.status}`;
  if (res.open && req.finalStream) return "a final task's stream still open after its event";
  const events = res.body.split(/\r?\n\r?\n/).filter((block) => block.trim() !== '' && !block.split(/\r?\n/).every((line) => line.startsWith(':')));
  if (events.length === 0) return 'a stream without an event';
  let last: { status?: unknown; task_id?: unknown } | undefined;
  for (const block of events) {
    const fields = new Map(block.split(/\r?\n/).filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const));
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(fields.get('id') ?? '')) return `an event without a valid id: ${JSON.stringify(abridge(block, 120))}`;
    if (!['status', 'progress'].includes(fields.get('event') ?? '')) return `an event of no known name: ${JSON.stringify(abridge(block, 120))}`;
    try {
      last = JSON.parse(fields.get('data') ?? '') as typeof last;
    } catch {
      return `an event whose data is not JSON: ${JSON.stringify(abridge(block, 120))}`;
    }
    if (typeof last?.task_id !== 'string' || typeof last.status !== 'string') return `an event whose data is not a task: ${JSON.stringify(abridge(block, 120))}`;
  }
  if (!res.open && !FINAL_STATUSES.has(last!.status as never)) return `a stream that ended on status ${String(last!.status)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The API under test
// ---------------------------------------------------------------------------------------------

/** Collects what the service writes to stdout and stderr, by line, while the fuzz runs. */
export class LogTap {
  readonly lines: string[] = [];
  private partial = '';
  private readonly originals = { out: process.stdout.write, err: process.stderr.write };

  constructor() {
    const tap = (chunk: unknown): boolean => {
      const text = this.partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) this.lines.push(p.replace(/\x1b\[[0-9;]*m/g, ''));
      return true;
    };
    process.stdout.write = tap as typeof process.stdout.write;
    process.stderr.write = tap as typeof process.stderr.write;
  }

  /** Writes to the real stdout, past the tap. */
  print(text: string): void {
    this.originals.out.call(process.stdout, text);
  }

  restore(): void {
    process.stdout.write = this.originals.out;
    process.stderr.write = this.originals.err;
  }
}

/** The API under test, and the tasks it was given before the fuzz (its TaskPools). */
export interface FuzzTarget extends TaskPools {
  port: number;
  api: NestFastifyApplication;
  redis: TestRedis;
  config: AppConfig;
  logs: LogTap;
  /** The prototypes before the fuzz. */
  prototypes: PrototypeSnapshot;
  /** Log lines the error check skips (see startFuzzTarget). */
  ignoredLogLines: RegExp[];
  stop(): Promise<void>;
}

/**
 * The fuzz's environment: rate limits off; a 1 MiB submit limit, so the generators' huge strings
 * cross it; receive timeouts short, so stalled clients get their 408 within the per-request timeout.
 * The two keys are labelled and only the first is an admin's, so the operator controls (pause,
 * resume, bulk cancel, the job inspection UI's buttons) answer the second 403.
 */
export const FUZZ_ENV: Record<string, string> = {
  API_KEYS: `fuzz-admin:${TEST_API_KEY},fuzz-viewer:${SECOND_KEY}`,
  API_ADMIN_LABELS: 'fuzz-admin',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0',
  API_BODY_LIMIT_MB: '1',
  API_REQUEST_TIMEOUT: '1',
  API_HEADERS_TIMEOUT: '0.5',
  LOG_LEVEL: 'warn',
};

/**
 * `ignoredLogLines`: for the jest suite only. Jest runs tests in a VM context whose `Error` is not
 * Node's, so `instanceof Error` is false for errors Node itself raises (a request stream's
 * "aborted"), and the exception filter, which checks that, logs them as unexpected. In one realm,
 * as in production and in `npm run fuzz`, it does not.
 */
export async function startFuzzTarget(env: Record<string, string> = {}, redis?: TestRedis, ignoredLogLines: RegExp[] = []): Promise<FuzzTarget> {
  const prototypes = snapshotPrototypes();
  const ownRedis = redis ?? (await startTestRedis());
  const config = testConfig(ownRedis, { ...FUZZ_ENV, ...env });
  const logs = new LogTap();
  let api: NestFastifyApplication | undefined;
  try {
    api = await startApi(config);
    const port = await listenLocal(api);
    const knownTaskIds: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await exchange(port, validSubmission(`fuzz-known-${n}`), 5000);
      // 200: an API on the same Redis submitted it already (the idempotency key names the task).
      if (res.kind !== 'response' || (res.status !== 201 && res.status !== 200)) throw new Error(`could not submit a known task: ${JSON.stringify(res)}`);
      knownTaskIds.push((JSON.parse(res.body) as { task_id: string }).task_id);
    }
    // Through the services, not HTTP: a rate-limited API would refuse so many requests.
    const retryableTaskIds = [(await seedCancelledTask(api)).id, (await seedCancelledTask(api)).id];
    const finalTasks = [await seedCancelledTask(api), await seedCancelledTask(api), await seedCancelledTask(api)];
    const app = api;
    return {
      port,
      api: app,
      redis: ownRedis,
      config,
      knownTaskIds,
      retryableTaskIds,
      finalTasks,
      queues: api.get(TaskQueues).names(),
      logs,
      prototypes,
      ignoredLogLines,
      stop: async () => {
        await app.close();
        if (!redis) await ownRedis.stop();
        logs.restore();
      },
    };
  } catch (e) {
    await api?.close();
    if (!redis) await ownRedis.stop();
    logs.restore();
    throw e;
  }
}

/** A diagnostic.sleep submitted (without an idempotency key: a new task) and cancelled at once. */
async function seedCancelledTask(api: NestFastifyApplication): Promise<FinalTask> {
  const { task } = await api.get(TaskSubmitter).submit({ taskName: 'diagnostic.sleep', payload: { seconds: 0 }, submittedBy: 'fuzz-admin', options: { delaySeconds: 3600 } });
  await api.get(TaskCancellation).cancel(task.id);
  const record = await api.get(TaskQuery).get(task.id);
  if (record.status !== 'cancelled') throw new Error(`could not cancel a seeded task: ${record.status}`);
  // What its event stream sends as the event's id (see TaskEventStream).
  return { id: task.id, eventId: taskEventId(JSON.stringify(presentTask(record))) };
}

/**
 * Resumes every paused queue, as the harness's own cleanup: the fuzz pauses and resumes queues at
 * random. Nothing in the fuzz needs a task to run (no worker runs), but whatever runs after it on
 * the same Redis may. Returns the queues it resumed.
 */
export async function resumeQueues(target: FuzzTarget): Promise<string[]> {
  const pauses = target.api.get(QueuePauses);
  const paused = (await pauses.states()).filter((q) => q.paused).map((q) => q.queue);
  for (const queue of paused) await pauses.resume(queue, 'fuzz-harness');
  return paused;
}

/** A well-formed, authenticated submission of a diagnostic.sleep held back an hour. */
export function validSubmission(idempotencyKey?: string): FuzzRequest {
  const body = JSON.stringify({ task_name: 'diagnostic.sleep', payload: { seconds: 0 }, options: { delay_seconds: 3600, ...(idempotencyKey ? { idempotency_key: idempotencyKey } : {}) } });
  return withToString({
    kind: 'POST /api/v1/tasks',
    method: 'POST',
    target: '/api/v1/tasks',
    headers: [['Host', '127.0.0.1'], ['Connection', 'close'], ['X-API-Key', TEST_API_KEY], ['Content-Type', 'application/json']],
    body,
    framing: 'length',
    validKey: true,
  });
}

const simpleGet = (target: string, key = false): FuzzRequest =>
  withToString({ kind: 'GET /health/ready', method: 'GET', target, headers: [['Host', '127.0.0.1'], ['Connection', 'close'], ...(key ? ([['X-API-Key', TEST_API_KEY]] as [string, string][]) : [])], framing: 'length', validKey: key });

/**
 * Every task the fuzz got accepted still has job data that JSON.parse reads, as the worker and the
 * inspection UI do: a submitted body is stored as sent when it can be (common/task-data-text.ts).
 */
async function unreadableJobData(target: FuzzTarget): Promise<string[]> {
  const redis = target.api.get<Redis>(REDIS_CLIENT);
  const queues = target.api.get(TaskQueues);
  const problems: string[] = [];
  for (const queue of queues.names()) {
    const keys = queues.keys(queue);
    for (const id of await redis.zrange(keys.index({}), '0', '-1')) {
      const data = await redis.hget(keys.job(id), 'data');
      try {
        if (data !== null) JSON.parse(data);
      } catch (err) {
        problems.push(`task ${id} has job data JSON.parse refuses (${(err as Error).message}): ${JSON.stringify(String(data).slice(0, 80))}`);
      }
    }
  }
  return problems;
}

/** After the fuzz: ready, still serving a valid submission and its GET, every task's data readable, prototypes untouched. */
export async function healthAfterwards(target: FuzzTarget): Promise<string[]> {
  const problems: string[] = [];
  const ready = await exchange(target.port, simpleGet('/health/ready'), 5000);
  if (ready.kind !== 'response' || ready.status !== 200) problems.push(`/health/ready: ${JSON.stringify(ready)}`);
  const submitted = await exchange(target.port, validSubmission(), 5000);
  if (submitted.kind !== 'response' || submitted.status !== 201) problems.push(`valid POST /api/v1/tasks: ${JSON.stringify(submitted)}`);
  else {
    const id = (JSON.parse(submitted.body) as { task_id: string }).task_id;
    const got = await exchange(target.port, simpleGet(`/api/v1/tasks/${id}`, true), 5000);
    if (got.kind !== 'response' || got.status !== 200 || (JSON.parse(got.body) as { status?: string }).status !== 'pending') problems.push(`GET the new task: ${JSON.stringify(got)}`);
  }
  for (const q of await target.api.get(QueuePauses).states()) if (q.paused) problems.push(`queue ${q.queue} left paused (by ${q.pausedBy})`);
  problems.push(...(await unreadableJobData(target)));
  problems.push(...pollutionSince(target.prototypes));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Running and reporting
// ---------------------------------------------------------------------------------------------

export interface Sample {
  request: FuzzRequest;
  status: number | 'timeout' | 'closed';
  ms: number;
  violations: Violation[];
  requestId?: string;
  /** The `detail` of an error answer. */
  detail?: string;
}

/** Counts by status and by kind, the slowest requests, and every violation seen. */
export class FuzzStats {
  requests = 0;
  readonly byStatus = new Map<string, number>();
  readonly byKind = new Map<RouteKind, Map<string, number>>();
  readonly slowest: Sample[] = [];
  readonly violations: Sample[] = [];
  /** Error answers by status and the start of their detail (ids and numbers masked). */
  readonly byDetail = new Map<string, number>();
  totalMs = 0;

  record(sample: Sample, keepSlowest = 10): void {
    this.requests++;
    this.totalMs += sample.ms;
    const status = String(sample.status);
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    const kind = this.byKind.get(sample.request.kind) ?? new Map<string, number>();
    kind.set(status, (kind.get(status) ?? 0) + 1);
    this.byKind.set(sample.request.kind, kind);
    if (sample.violations.length) this.violations.push(sample);
    if (sample.detail !== undefined) {
      const shape = `${sample.status} ${abridge(sample.detail.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\d+/g, 'N'), 70)}`;
      this.byDetail.set(shape, (this.byDetail.get(shape) ?? 0) + 1);
    }
    if (this.slowest.length < keepSlowest || sample.ms > this.slowest[this.slowest.length - 1].ms) {
      this.slowest.push(sample);
      this.slowest.sort((a, b) => b.ms - a.ms);
      this.slowest.length = Math.min(this.slowest.length, keepSlowest);
    }
  }

  statuses(): string[] {
    return [...this.byStatus.keys()].sort();
  }

  violationCounts(): Map<ViolationKind, number> {
    const counts = new Map<ViolationKind, number>();
    for (const s of this.violations) for (const v of s.violations) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
    return counts;
  }
}

export interface FuzzOptions {
  seed: number;
  numRuns: number;
  /** Per request: a response later than this is a violation, and no response by then a timeout. */
  timeoutMs: number;
  /** Which violations fail the property (and are shrunk); the others are only recorded. */
  failOn: (v: Violation, sample: Sample) => boolean;
  stats?: FuzzStats;
  onProgress?: (done: number) => void;
}

/** One request through the API and every check on its answer, recorded in `stats`. */
export async function probe(target: FuzzTarget, req: FuzzRequest, timeoutMs: number, stats?: FuzzStats): Promise<Sample> {
  const from = target.logs.lines.length;
  const outcome = await exchange(target.port, req, timeoutMs);
  // Lines the request's own handling logs asynchronously land before the next request starts.
  await new Promise((r) => setImmediate(r));
  const logLines = target.logs.lines.slice(from).filter((l) => !target.ignoredLogLines.some((re) => re.test(l)));
  const violations = violationsOf(req, outcome, logLines, timeoutMs);
  const polluted = pollutionSince(target.prototypes);
  if (polluted.length) violations.push({ kind: 'pollution', message: polluted.join('; ') });
  const sample: Sample = {
    request: req,
    status: outcome.kind === 'response' ? outcome.status : outcome.kind,
    ms: outcome.ms,
    violations,
    requestId: outcome.kind === 'response' ? outcome.headers['x-request-id'] : undefined,
    detail: outcome.kind === 'response' && outcome.status >= 400 ? detailOf(outcome.body) : undefined,
  };
  stats?.record(sample);
  return sample;
}

/**
 * Runs the property: `numRuns` generated requests, each checked. A run fails on the first
 * violation `failOn` selects, and fast-check then shrinks it to a minimal request, which
 * `details.counterexample` holds.
 */
export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<{ details: fc.RunDetails<[FuzzRequest]>; stats: FuzzStats }> {
  const stats = options.stats ?? new FuzzStats();
  let shrinking = false;
  const property = fc.asyncProperty(fuzzRequests(target), async (req) => {
    const sample = await probe(target, req, options.timeoutMs, shrinking ? undefined : stats);
    if (!shrinking) options.onProgress?.(stats.requests);
    const failing = sample.violations.filter((v) => options.failOn(v, sample));
    if (failing.length) {
      shrinking = true;
      throw new Error(`${failing.map((v) => `${v.kind}: ${v.message}`).join('\n')}${sample.requestId ? ` (request_id=${sample.requestId})` : ''}`);
    }
  });
  const details = await fc.check(property, { seed: options.seed, numRuns: options.numRuns, endOnFailure: false });
  // The fuzz pauses queues at random; what is checked after it (healthAfterwards) starts from none.
  await resumeQueues(target);
  return { details, stats };
}

export function renderReport(stats: FuzzStats, header: string): string {
  const lines: string[] = [header, '', '| status | requests |', '|---|---|'];
  for (const s of stats.statuses()) lines.push(`| ${s} | ${stats.byStatus.get(s)} |`);
  lines.push('', '| route | requests | statuses |', '|---|---|---|');
  for (const kind of ROUTE_KINDS) {
    const m = stats.byKind.get(kind);
    const n = m ? [...m.values()].reduce((a, b) => a + b, 0) : 0;
    lines.push(`| ${kind} | ${n} | ${m ? [...m.entries()].sort().map(([s, c]) => `${s}×${c}`).join(' ') : '—'} |`);
  }
  lines.push('', 'Most frequent error answers (status and detail, numbers as N):', '', '| status and detail | requests |', '|---|---|');
  for (const [shape, n] of [...stats.byDetail.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) lines.push(`| ${shape.replace(/\|/g, '\\|')} | ${n} |`);
  lines.push('', 'Slowest requests:', '', '| ms | status | route | request |', '|---|---|---|---|');
  for (const s of stats.slowest) lines.push(`| ${s.ms.toFixed(1)} | ${s.status} | ${s.request.kind} | ${abridge(describeRequest(s.request), 140).replace(/\|/g, '\\|')} |`);
  const counts = stats.violationCounts();
  lines.push('', counts.size === 0 ? 'Violations: none.' : `Violations: ${[...counts.entries()].map(([k, n]) => `${k}×${n}`).join(', ')}`);
  // By kind and status, with the first request of each, so distinct defects stand apart.
  const groups = new Map<string, { n: number; first: Sample; kind: ViolationKind }>();
  for (const s of stats.violations) {
    for (const v of s.violations) {
      const key = `${v.kind}, status ${s.status}`;
      const g = groups.get(key) ?? { n: 0, first: s, kind: v.kind };
      g.n++;
      groups.set(key, g);
    }
  }
  for (const [key, g] of groups) {
    lines.push(
      `- ${key}: ${g.n}; first: ${describeRequest(g.first.request)}`,
      `  → ${g.first.violations.filter((v) => v.kind === g.kind).map((v) => v.message).join('; ')}${g.first.requestId ? ` (request_id=${g.first.requestId})` : ''}`,
    );
  }
  return lines.join('\n');
}
