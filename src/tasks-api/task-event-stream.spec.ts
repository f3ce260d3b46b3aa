import { TaskRecord } from '../tasks/lifecycle/task-record';
import { TaskStatus } from '../tasks/task-status';
import { TaskStatusDto } from './dto/task-responses.dto';
import { TaskEventStream, taskEventId } from './task-event-stream';

const task = (status: TaskStatus, progress = 0): TaskRecord => ({ id: 't1', status, progress }) as TaskRecord;
const present = (r: TaskRecord): TaskStatusDto => ({ task_id: r.id, status: r.status, progress: r.progress }) as TaskStatusDto;

async function written(stream: TaskEventStream): Promise<string> {
  stream.end();
  let text = '';
  for await (const chunk of stream.body) text += String(chunk);
  return text;
}

describe('TaskEventStream', () => {
  it('names an event status when the status changed and progress otherwise, and skips a repeated state', async () => {
    const s = new TaskEventStream(present, 60_000);
    s.push(task(TaskStatus.Pending));
    s.push(task(TaskStatus.Pending));
    s.push(task(TaskStatus.Processing));
    s.push(task(TaskStatus.Processing, 50));
    const text = await written(s);
    const events = text.split('\n\n').filter(Boolean);
    expect(events.map((e) => /^event: (.*)$/m.exec(e)?.[1])).toEqual(['status', 'status', 'progress']);
    const data = '{"task_id":"t1","status":"processing","progress":50}';
    expect(events[2]).toBe(`id: ${taskEventId(data)}\nevent: progress\ndata: ${data}`);
  });

  it('ends after a final state', async () => {
    const s = new TaskEventStream(present, 60_000);
    s.push(task(TaskStatus.Processing));
    s.push(task(TaskStatus.Failed));
    expect(s.ended).toBe(true);
    s.push(task(TaskStatus.Processing, 1));
    expect(s.written).toBe(2);
  });

  it('resumed with the id of the state it would send, sends nothing, and ends without an event if that state is final', () => {
    const final = task(TaskStatus.Completed, 100);
    const s = new TaskEventStream(present, 60_000, taskEventId(JSON.stringify(present(final))));
    s.push(final);
    expect(s.written).toBe(0);
    expect(s.ended).toBe(true);
  });

  it('sends a comment every heartbeat', async () => {
    jest.useFakeTimers();
    try {
      const s = new TaskEventStream(present, 1000);
      jest.advanceTimersByTime(3500);
      s.end();
      jest.useRealTimers();
      let text = '';
      for await (const chunk of s.body) text += String(chunk);
      expect(text).toBe(': keep-alive\n\n'.repeat(3));
    } finally {
      jest.useRealTimers();
    }
  });
});
