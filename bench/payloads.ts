/** What the upstreams answer and what the load sends: shared by every side of the bench. */
export const SMALL_BODY = 'hello from the upstream\n';
export const LARGE_BODY_BYTES = 64 * 1024;
export const UPLOAD_BYTES = 1024 * 1024;
