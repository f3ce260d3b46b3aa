import { TaskStatus } from '../tasks/task-status';
import { boardJobName } from './board-job-name';

describe('boardJobName', () => {
  it.each([
    [TaskStatus.Cancelled, false, 'diagnostic.sleep [cancelled]'],
    [TaskStatus.Retrying, false, 'diagnostic.sleep [retrying]'],
    [TaskStatus.Processing, true, 'diagnostic.sleep [cancelling]'],
    [TaskStatus.Processing, false, 'diagnostic.sleep'],
    [TaskStatus.Pending, false, 'diagnostic.sleep'],
    [TaskStatus.Completed, false, 'diagnostic.sleep'],
    [TaskStatus.Failed, false, 'diagnostic.sleep'],
  ])('tags a %s task (cancel requested: %s) as %j', (status, cancelRequested, shown) => {
    expect(boardJobName('diagnostic.sleep', { status, cancelRequested })).toBe(shown);
  });

  it('leaves a job that is not a Sluice task as it is', () => {
    expect(boardJobName('other', undefined)).toBe('other');
    expect(boardJobName('other', { status: null, cancelRequested: false })).toBe('other');
  });
});
