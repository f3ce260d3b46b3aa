/** Bull Board's own error body: a translation key for its page, never English (`errorResponse` in @bull-board/api). */
interface BoardErrorBody {
  /** `{ key, options? }` when the board built it; read with care, as anything may come. */
  error?: unknown;
  details?: unknown;
  detail?: unknown;
}

/**
 * The contract's `detail` for an error body of Bull Board's (`{"error":{"key":"ERRORS.QUEUE_NOT_FOUND"}}`),
 * kept beside the board's own fields, which its page reads to show the message in the user's
 * language. Returns the payload unchanged when it is not such a body, or already has a detail.
 * Its bodies start with `"error"` (errorResponse builds them so), which spares parsing every other
 * error of the scope: those are Sluice's own and already in shape.
 */
export function withBoardDetail(payload: string): string {
  if (!payload.startsWith('{"error"')) return payload;
  let body: BoardErrorBody;
  try {
    body = JSON.parse(payload) as BoardErrorBody;
  } catch {
    return payload;
  }
  if (body === null || typeof body !== 'object' || 'detail' in body) return payload;
  return JSON.stringify({ detail: boardErrorText(body), ...body });
}

/** `ERRORS.QUEUE_NOT_FOUND` → "Queue not found", with the field a generic key names and any details. */
export function boardErrorText(body: BoardErrorBody): string {
  const error = (body.error ?? {}) as { key?: unknown; options?: { field?: unknown } };
  const key = typeof error.key === 'string' ? error.key : 'ERRORS.UNKNOWN';
  const words = key.replace(/^ERRORS\./, '').toLowerCase().replace(/_/g, ' ');
  let text = words.charAt(0).toUpperCase() + words.slice(1);
  if (typeof error.options?.field === 'string' && error.options.field) text += `: ${error.options.field}`;
  if (typeof body.details === 'string' && body.details) text += ` (${body.details})`;
  return text;
}
