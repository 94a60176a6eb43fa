/** Binding node:http servers to Kong-style listen addresses. */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ListenAddress } from '@turnpike/shared'

/** Listens on `address` (port 0 picks a free port) and resolves with the bound address. */
export function listen(server: Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const options = { port: address.port, host: address.host, reusePort: address.reuseport, backlog: address.backlog }
    server.listen(options, () => {
      server.off('error', reject)
      resolve(server.address() as AddressInfo)
    })
  })
}

/** A URL clients can use for a bound address: wildcard binds are reached on loopback. */
export function urlFor(scheme: 'http' | 'https', bound: AddressInfo): string {
  let host = bound.address
  if (host === '0.0.0.0') host = '127.0.0.1'
  else if (host === '::') host = '::1'
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${bound.port}`
}

/** Closes a server at once: stops accepting and drops its connections, idle or not. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
