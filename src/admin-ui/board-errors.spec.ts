import { boardErrorText, withBoardDetail } from './board-errors';

describe('withBoardDetail', () => {
  it("gives Bull Board's error bodies the contract's detail and keeps the board's own fields", () => {
    const out = JSON.parse(withBoardDetail('{"error":{"key":"ERRORS.QUEUE_NOT_FOUND"}}')) as Record<string, unknown>;
    expect(out).toEqual({ detail: 'Queue not found', error: { key: 'ERRORS.QUEUE_NOT_FOUND' } });
  });

  it('names the field of a generic key, and the details', () => {
    const payload = '{"error":{"key":"ERRORS.INVALID_QUERY_PARAM","options":{"field":"status"}},"code":"INVALID_REQUEST"}';
    expect((JSON.parse(withBoardDetail(payload)) as { detail: string }).detail).toBe('Invalid query param: status');
    expect(boardErrorText({ error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' }, details: 'queues: bad' })).toBe('Internal server error (queues: bad)');
  });

  it('leaves every other payload as it is', () => {
    for (const payload of ['{"detail":"Task not found"}', '{"error":{"key":"X"},"detail":"kept"}', '{"queues":[]}', '{"error"', '<html>']) {
      expect(withBoardDetail(payload)).toBe(payload);
    }
  });

  it('reads a body without a key', () => {
    expect(boardErrorText({ error: 'x' })).toBe('Unknown');
  });
});
