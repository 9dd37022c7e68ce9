/**
 * Connection-level headers (RFC 9110 §7.6.1, plus the legacy and HTTP/2 ones): they describe
 * one hop, so a proxy never forwards them and writes its own on each side. One list, used by
 * request and response forwarding and by the config check on header edits.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
];
