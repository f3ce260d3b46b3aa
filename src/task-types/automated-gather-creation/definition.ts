import { QueueName } from '../queue-names';
import { defineTaskType } from '../task-type';
import { GATHER_PAYLOAD_SCHEMA, checkGatherPayload } from './payload.schema';
import { GATHER_RESULT_SCHEMA } from './result.schema';

export const AUTOMATED_GATHER_CREATION = defineTaskType<typeof GATHER_PAYLOAD_SCHEMA, typeof GATHER_RESULT_SCHEMA>({
  name: 'automated_gather_creation',
  description: 'Groups participants into gatherings by location, availability and interests',
  diagnostic: false,
  policy: { queue: QueueName.CpuIntensive },
  payload: GATHER_PAYLOAD_SCHEMA,
  result: GATHER_RESULT_SCHEMA,
  check: checkGatherPayload,
  // The solver's modules load with the first gather task a child runs, not when it starts:
  // children are recycled every WORKER_MAX_TASKS_PER_CHILD tasks, so their start-up is paid often.
  loadHandler: () => (require('./handler') as typeof import('./handler')).gatherHandler,
});
