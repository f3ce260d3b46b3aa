const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Task ids are lowercase UUIDs (they are also the BullMQ job ids). */
export function isTaskId(value: string): boolean {
  return UUID.test(value);
}
