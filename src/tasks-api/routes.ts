/** The submit routes, the only ones that take bodies up to API_BODY_LIMIT_MB (see HttpEdge). */
export const SUBMIT_ROUTES = ['POST /api/v1/tasks', 'POST /api/v1/tasks/batch'];
