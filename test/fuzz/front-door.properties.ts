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
import { AppConfig } from '../../src/config/configuration';
import { TASK_TYPES } from '../../src/task-types';
import { TASK_STATUSES } from '../../src/tasks/task-status';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { TestRedis, startTestRedis } from '../support/redis';
import { Framing, WireOutcome, WireRequest, exchange } from './raw-client';

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
  'GET /api/v1/tasks/metrics',
  'GET /api/v1/tasks/health',
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /docs',
  'GET /docs-json',
  'unknown path',
  'wrong method',
  'malformed HTTP',
] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

export interface FuzzRequest extends WireRequest {
  kind: RouteKind;
  /** Whether the request carries exactly one accepted X-API-Key. */
  validKey: boolean;
  /** The X-Request-Id sent, when exactly one was. */
  requestId?: string;
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

/** What a body may be on the two POST routes: the route's own shape mostly, anything else too. */
const postBodyText = (shape: fc.Arbitrary<string>, kind: 'single' | 'batch') =>
  fc.oneof(
    w(12, shape),
    w(6, kind === 'batch' ? fc.array(validEnvelopeText, { minLength: 1, maxLength: 20 }).map((items) => `{"tasks":[${items.join(',')}]}`) : validEnvelopeText),
    w(1, fc.constantFrom('', ' ', '\n', '[]', '"task"', '42', 'null', 'true', '{', '{"task_name":', "{'task_name':'x'}", '{"a":1}/*c*/', 'NaN', '\ufeff{"task_name":"diagnostic.sleep","payload":{"seconds":0}}')),
    w(1, shape.map((s) => `${s}garbage`)),
    w(1, fc.string({ maxLength: 60 })),
    w(2, randomJsonText),
    w(1, deepText),
    w(1, pollutionText),
    w(1, hugeStringText.map((h) => objText([['"task_name"', '"diagnostic.sleep"'], ['"payload"', objText([['"seconds"', '0'], ['"pad"', h]])]]))),
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

/** X-API-Key variants; `valid` says whether exactly one accepted key is sent. */
const apiKeyHeaders = (usuallyValid: boolean) =>
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
    )),
    w(2, fc.tuple(fc.constantFrom(...ODD_METHODS), fc.constantFrom('/api/v1/tasks', '/api/v1/tasks/batch', '/health/live', '/metrics', '/docs', '/docs-json', '/api/v1/tasks/00000000-0000-4000-8000-000000000000', ...known.map((id) => `/api/v1/tasks/${id}`)))),
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

/** Assembles a request of one kind from the header, body and framing generators. */
function assemble(
  kind: RouteKind,
  method: fc.Arbitrary<string>,
  target: fc.Arbitrary<string>,
  body: fc.Arbitrary<string | undefined>,
  usuallyValidKey: boolean,
): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method,
      target,
      body,
      key: apiKeyHeaders(usuallyValidKey),
      rid: requestIdHeaders,
      host: hostHeaders,
      contentType: contentTypeHeader,
      extra: extraHeaders,
      framing: framingArb,
    })
    .map(({ method: m, target: t, body: b, key, rid, host, contentType, extra, framing }) => {
      const headers: [string, string][] = [...host, ['Connection', 'close'], ...key.headers, ...rid.headers];
      if (b !== undefined && contentType !== undefined) headers.push(['Content-Type', contentType]);
      headers.push(...extra);
      return withToString({ kind, method: m, target: t, headers, body: b, framing: b === undefined && framing !== 'stalled-headers' ? 'length' : framing, validKey: key.valid, requestId: rid.id });
    });
}

const noBody = fc.oneof(w(9, fc.constant(undefined)), w(1, fc.oneof(randomJsonText, fc.constantFrom('', 'x'.repeat(70_000)))));

/** Every kind of request, weighted towards the routes with the most surface. */
export function fuzzRequests(knownTaskIds: string[]): fc.Arbitrary<FuzzRequest> {
  const post = fc.oneof(w(12, fc.constant('POST')), w(1, fc.constantFrom('PUT', 'PATCH')));
  const get = fc.oneof(w(12, fc.constant('GET')), w(1, fc.constant('HEAD')));
  const fixed = (kind: RouteKind, path: string, usuallyValid = false) => assemble(kind, get, fc.tuple(fc.constant(path), queryString).map(([p, q]) => p + q), noBody, usuallyValid);
  return fc.oneof(
    w(20, assemble('POST /api/v1/tasks', post, fc.constant('/api/v1/tasks'), postBodyText(envelopeText, 'single'), true)),
    w(10, assemble('POST /api/v1/tasks/batch', post, fc.constant('/api/v1/tasks/batch'), postBodyText(batchText, 'batch'), true)),
    w(12, assemble('GET /api/v1/tasks', get, queryString.map((q) => `/api/v1/tasks${q}`), noBody, true)),
    w(9, assemble('GET /api/v1/tasks/{id}', get, idSegment(knownTaskIds).map((id) => `/api/v1/tasks/${id}`), noBody, true)),
    w(7, assemble('DELETE /api/v1/tasks/{id}', fc.constant('DELETE'), idSegment(knownTaskIds).map((id) => `/api/v1/tasks/${id}`), noBody, true)),
    w(3, fixed('GET /api/v1/tasks/metrics', '/api/v1/tasks/metrics', true)),
    w(3, fixed('GET /api/v1/tasks/health', '/api/v1/tasks/health', true)),
    w(3, fixed('GET /health/live', '/health/live')),
    w(3, fixed('GET /health/ready', '/health/ready')),
    w(3, fixed('GET /metrics', '/metrics')),
    w(3, assemble('GET /docs', get, fc.constantFrom('/docs', '/docs/', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs/index.html', '/docs/favicon-32x32.png'), noBody, false)),
    w(3, fixed('GET /docs-json', '/docs-json')),
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
  return `${req.method} ${abridge(req.target, 200)} [${headers}] ${body}`;
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
  | 'error-logged';

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

/** Statuses that show a request got past authentication: served, or its body parsed or validated. */
const PAST_AUTHENTICATION = new Set([409, 413, 415, 422]);

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
  if (req.raw === undefined && !req.validKey && /^\/api(\/|$)/.test(decodedPath(req.target)) && (status < 400 || PAST_AUTHENTICATION.has(status))) {
    v('auth-bypass', `no valid key, yet ${summary}`);
  }
  return out;
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

export interface FuzzTarget {
  port: number;
  api: NestFastifyApplication;
  redis: TestRedis;
  config: AppConfig;
  /** Tasks submitted before the fuzz, so DELETE and GET also meet real ones. */
  knownTaskIds: string[];
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
 */
export const FUZZ_ENV: Record<string, string> = {
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
    const app = api;
    return {
      port,
      api: app,
      redis: ownRedis,
      config,
      knownTaskIds,
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

/** After the fuzz: ready, still serving a valid submission and its GET, prototypes untouched. */
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
  const property = fc.asyncProperty(fuzzRequests(target.knownTaskIds), async (req) => {
    const sample = await probe(target, req, options.timeoutMs, shrinking ? undefined : stats);
    if (!shrinking) options.onProgress?.(stats.requests);
    const failing = sample.violations.filter((v) => options.failOn(v, sample));
    if (failing.length) {
      shrinking = true;
      throw new Error(`${failing.map((v) => `${v.kind}: ${v.message}`).join('\n')}${sample.requestId ? ` (request_id=${sample.requestId})` : ''}`);
    }
  });
  const details = await fc.check(property, { seed: options.seed, numRuns: options.numRuns, endOnFailure: false });
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
