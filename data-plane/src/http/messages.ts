/**
 * The gateway's one message table: Kong's default message per status (`kong.response.error(status)`,
 * kong/pdk/response.lua HTTP_MESSAGES) and the messages of the proxy's own answers.
 */

const BY_STATUS: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  402: 'Payment required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  407: 'Proxy authentication required',
  408: 'Request timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length required',
  412: 'Precondition failed',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  416: 'Range not satisfiable',
  417: 'Expectation failed',
  418: "I'm a teapot",
  421: 'Misdirected request',
  422: 'Unprocessable entity',
  423: 'Locked',
  424: 'Failed dependency',
  425: 'Too early',
  426: 'Upgrade required',
  428: 'Precondition required',
  429: 'Too many requests',
  431: 'Request header fields too large',
  451: 'Unavailable for legal reasons',
  494: 'Request header or cookie too large',
  500: 'An unexpected error occurred',
  501: 'Not implemented',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable',
  504: 'The upstream server is timing out',
  505: 'HTTP version not supported',
  506: 'Variant also negotiates',
  507: 'Insufficient storage',
  508: 'Loop detected',
  510: 'Not extended',
  511: 'Network authentication required',
}

export function defaultMessage(status: number): string {
  return BY_STATUS[status] ?? `The upstream server responded with ${status}`
}

/** What the proxy answers itself, with Kong's wording. */
export const MESSAGES = {
  noConfig: 'no data plane configuration loaded yet',
  noRoute: 'no Route matched with those values',
  noService: 'no Service found with those values',
  noPeer: 'failure to get a peer from the ring-balancer',
  useHttps: 'Please use HTTPS protocol',
  badGateway: BY_STATUS[502]!,
  gatewayTimeout: BY_STATUS[504]!,
  nameResolution: 'name resolution failed',
  unexpected: BY_STATUS[500]!,
  badRequest: BY_STATUS[400]!,
  notImplemented: BY_STATUS[501]!,
  requestTimeout: BY_STATUS[408]!,
  payloadTooLarge: BY_STATUS[413]!,
  headersTooLarge: BY_STATUS[431]!,
  nonGrpc: 'Non-gRPC request matched gRPC route',
  useHttp2: 'Please use HTTP2 protocol',
  grpcsOnly: 'gRPC request matched gRPCs route',
  useWebSocket: 'Please use WebSocket protocol',
} as const
