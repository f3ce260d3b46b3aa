/** What each worker writes to Redis every few seconds, under a key that expires. */
export interface WorkerHeartbeat {
  worker_id: string;
  at: number;
  queues: string[];
  children: { slot: number; pid: number | null; rss_bytes: number; task_id: string | null }[];
}

/** Heartbeats are written this often; a worker missing for HEARTBEAT_TTL_MS counts as gone. */
export const HEARTBEAT_INTERVAL_MS = 2000;
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_INTERVAL_MS;
