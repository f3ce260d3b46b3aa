import { ValidationPipe } from '@nestjs/common';
import { SubmitBatchDto, SubmitTaskDto } from '../tasks-api/dto/submit-task.dto';
import { EnvelopeValidator, VALIDATION_OPTIONS } from './validation-pipe';

/** What a validator made of a body: the instance's class and fields, or the 422's message. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    const v = (await run()) as object;
    return { ok: v.constructor.name, value: JSON.parse(JSON.stringify(v)) };
  } catch (err) {
    return { status: (err as { getStatus(): number }).getStatus(), detail: (err as Error).message };
  }
}

describe('EnvelopeValidator', () => {
  const fast = new EnvelopeValidator();
  const pipe = new ValidationPipe(VALIDATION_OPTIONS);
  // Bodies as Fastify's parser hands them over (JSON.parse: own __proto__ keys stay plain keys).
  const tasks: string[] = [
    '{"task_name":"diagnostic.sleep","payload":{}}',
    '{"task_name":"diagnostic.sleep","payload":{},"options":{"priority":3,"delay_seconds":1.5,"idempotency_key":"k"}}',
    '{"task_name":"","payload":{}}',
    '{"task_name":7,"payload":[]}',
    '{"payload":{}}',
    '{"task_name":"x","payload":{},"extra":1}',
    '{"task_name":"x","payload":{},"options":{"priority":0,"max_retries":-1,"bogus":true}}',
    '{"task_name":"x","payload":{},"options":{"limits":{"time_limit":"a"}}}',
    '{"task_name":"x","payload":{},"options":[]}',
    '{"task_name":"x","payload":{},"constructor":{"a":1}}',
    '{"task_name":"x","payload":{},"options":{"constructor":1,"priority":2}}',
    '{"task_name":"x","payload":{},"__proto__":{"polluted":1}}',
    '{"task_name":"x","payload":{},"prototype":"p"}',
    '[]',
    'null',
    '"a string"',
    '42',
  ];

  it.each(tasks)('judges %s as ValidationPipe does', async (json) => {
    const [a, b] = [JSON.parse(json), JSON.parse(json)];
    const expected = await outcome(() => pipe.transform(a, { type: 'body', metatype: SubmitTaskDto }));
    expect(await outcome(() => fast.validate(SubmitTaskDto, b))).toEqual(expected);
  });

  it.each(['{"tasks":[{},{}]}', '{"tasks":[]}', '{"tasks":[1]}', '{}', '{"tasks":[{}],"more":1}'])('judges the batch %s as ValidationPipe does', async (json) => {
    const expected = await outcome(() => pipe.transform(JSON.parse(json), { type: 'body', metatype: SubmitBatchDto }));
    expect(await outcome(() => fast.validate(SubmitBatchDto, JSON.parse(json)))).toEqual(expected);
  });

  it('accepts and refuses the bodies it should, so the comparisons above compare something', async () => {
    const results = await Promise.all(tasks.map((t) => outcome(() => fast.validate(SubmitTaskDto, JSON.parse(t)))));
    expect(results.filter((r) => (r as { ok?: string }).ok === 'SubmitTaskDto').length).toBeGreaterThanOrEqual(2);
    expect(results.filter((r) => (r as { status?: number }).status === 422).length).toBeGreaterThanOrEqual(8);
  });
});
