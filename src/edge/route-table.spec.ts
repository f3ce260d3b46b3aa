import { RouteTable } from './route-table';

describe('RouteTable', () => {
  const table = new RouteTable();
  table.add('/api/v1/tasks', ['GET', 'HEAD']);
  table.add('/api/v1/tasks', 'POST');
  table.add('/api/v1/tasks/:task_id', ['GET', 'HEAD']);
  table.add('/api/v1/tasks/:task_id', 'DELETE');
  table.add('/docs/*', 'GET');
  table.add('/a.b', 'GET');

  it('answers the methods of every route that matches a path', () => {
    expect(table.allowedMethods('/api/v1/tasks')).toEqual(['GET', 'HEAD', 'POST']);
    expect(table.allowedMethods('/api/v1/tasks/abc')).toEqual(['DELETE', 'GET', 'HEAD']);
    expect(table.allowedMethods('/docs/swagger-ui.css')).toEqual(['GET']);
  });

  it('knows nothing of other paths, and treats a URL literally', () => {
    expect(table.allowedMethods('/api/v1/tasks/abc/def')).toEqual([]);
    expect(table.allowedMethods('/api/v2')).toEqual([]);
    expect(table.allowedMethods('/aXb')).toEqual([]);
  });
});
