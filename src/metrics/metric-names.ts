/**
 * Prometheus metric names, shared by the API, the workers, the alert rules and the dashboard.
 * They follow the Celery exporter's conventions under the `sluice_` prefix.
 */
export const METRIC = {
  /** counter {queue, task_name} */
  taskSubmitted: 'sluice_task_submitted_total',
  /** counter {queue, task_name}: runs started */
  taskStarted: 'sluice_task_started_total',
  /** counter {queue, task_name} */
  taskSucceeded: 'sluice_task_succeeded_total',
  /** counter {queue, task_name, exception}: final failures only */
  taskFailed: 'sluice_task_failed_total',
  /** counter {reason="http_status|network|timeout|redirect|refused"}: failed webhook delivery attempts */
  callbackFailures: 'sluice_callback_failures_total',
  /** counter {outcome="delivered|failed"}: webhook deliveries settled */
  callbackDeliveries: 'sluice_callback_deliveries_total',
  /** counter {queue, task_name}: retries scheduled */
  taskRetried: 'sluice_task_retried_total',
  /** counter {queue, task_name}: cancellations */
  taskRevoked: 'sluice_task_revoked_total',
  /** counter {queue, task_name, from="failed|cancelled"}: finished tasks re-queued by POST /tasks/{id}/retry */
  taskRequeued: 'sluice_task_requeued_total',
  /** histogram {queue, task_name}: run time of finished runs, seconds */
  taskRuntime: 'sluice_task_runtime_seconds',
  /** histogram {queue, task_name}: from submission (or retry due time) to start, seconds */
  taskQueueWait: 'sluice_task_queue_wait_seconds',
  /** counter {queue, task_name, kind="soft|hard"} */
  timeLimitExceeded: 'sluice_task_time_limit_exceeded_total',
  /** counter {reason="max_tasks|max_memory|crashed|time_limit|cancelled"} */
  childRecycled: 'sluice_worker_child_recycled_total',
  /** gauge {slot}: RSS of the child in each pool slot, bytes */
  childMemory: 'sluice_worker_child_memory_bytes',
  /** gauge {slot}: 1 while the slot's child runs a task */
  childBusy: 'sluice_worker_child_busy',
  /** gauge: 1 while this worker consumes its queues */
  workerUp: 'sluice_worker_up',
  /** gauge: WORKER_MAX_MEMORY_PER_CHILD in bytes (0 = no limit), for dashboards */
  childMemoryLimit: 'sluice_worker_child_memory_limit_bytes',
  /** gauge {queue, state}: exported by API pods only; aggregate with max by (queue, state) */
  queueLength: 'sluice_queue_length',
  /** gauge {queue}: 1 while the queue is paused (POST /queues/{queue}/pause); exported by API pods only */
  queuePaused: 'sluice_queue_paused',
  /** gauge {queue}: seconds since the queue was paused, 0 while it is not; exported by API pods only */
  queuePausedSeconds: 'sluice_queue_paused_seconds',
  /** gauge {alert, severity}: 1 while the health evaluation has that alert active */
  alertActive: 'sluice_alert_active',
  /** gauge: 1 while this API pod reports redis_data_lost (ALERT_DATA_LOST_HOLD after a wiped Redis was found) */
  redisDataLost: 'sluice_redis_data_lost',
  /** counter {reason="api_key|client_ip"}: requests answered 429, per API key or per client IP (no valid key) */
  httpRateLimited: 'sluice_http_rate_limited_total',
  /** counter {reason="missing|invalid"}: requests answered 401 */
  httpAuthFailures: 'sluice_http_auth_failures_total',
} as const;

export const RUNTIME_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240, 300, 480, 540, 570, 600, 900, 1800];
export const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
