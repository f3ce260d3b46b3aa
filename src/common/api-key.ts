export const API_KEY_HEADER = 'x-api-key';
/** The OpenAPI security scheme of X-API-Key; the edge's onRequest hook enforces it (see ApiGate). */
export const API_KEY_SCHEME = 'api-key';

/** What authentication leaves on a request: the key's label (never the key). */
export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  apiKeyLabel?: string;
}
