import { rememberTaskDataText, taskDataText } from './task-data-text';

describe('task data text', () => {
  const remembered = (text: string): string | undefined => {
    const body = JSON.parse(text) as { payload?: unknown };
    rememberTaskDataText(body, text);
    return taskDataText(body.payload);
  };

  it('keeps the text of a body that is exactly task_name and payload, in either order', () => {
    expect(remembered('{"task_name":"t","payload":{"a":1}}')).toBe('{"task_name":"t","payload":{"a":1}}');
    expect(remembered('{ "payload": {"a": [1, 2]}, "task_name": "t" }')).toBe('{ "payload": {"a": [1, 2]}, "task_name": "t" }');
  });

  it('keeps the text without the byte order mark that the parser skipped', () => {
    const text = '{"task_name":"t","payload":{"a":1}}';
    const body = JSON.parse(text) as { payload: object };
    rememberTaskDataText(body, `\ufeff${text}`);
    expect(taskDataText(body.payload)).toBe(text);
  });

  it('keeps nothing for any other shape', () => {
    expect(remembered('{"task_name":"t","payload":{"a":1},"options":{}}')).toBeUndefined();
    expect(remembered('{"payload":{"a":1}}')).toBeUndefined();
    expect(remembered('{"task_name":1,"payload":{"a":1}}')).toBeUndefined();
    expect(remembered('{"task_name":"t","payload":[1]}')).toBeUndefined();
    expect(remembered('{"task_name":"t","payload":null}')).toBeUndefined();
    expect(remembered('[{"task_name":"t","payload":{}}]')).toBeUndefined();
  });

  it('answers only for the parsed payload object itself, not for an equal one', () => {
    const text = '{"task_name":"t","payload":{"a":1}}';
    rememberTaskDataText(JSON.parse(text), text);
    expect(taskDataText({ a: 1 })).toBeUndefined();
    expect(taskDataText(undefined)).toBeUndefined();
  });
});
