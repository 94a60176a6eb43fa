import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'

/** The client's address as it belongs in X-Forwarded-For (IPv4-mapped IPv6 shown as IPv4). */
export function clientAddress(req: IncomingMessage | Http2ServerRequest): string {
  const address = req.socket.remoteAddress ?? ''
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
