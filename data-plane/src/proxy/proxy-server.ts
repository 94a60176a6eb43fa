/** The proxy listeners: node:http servers that lease the live config per request and forward through Exchanges. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ListenAddress, Logger } from '@turnpike/shared'
import { listen, urlFor } from '../http/listen.ts'
import type { SnapshotApplier } from '../runtime/snapshot-applier.ts'
import { handleRequest } from './handle-request.ts'
import { MESSAGES, newRequestId, sendMessage } from './responses.ts'

export interface ProxyStats {
  total_requests: number
  connections_active: number
}

export class ProxyServer {
  readonly stats: ProxyStats = { total_requests: 0, connections_active: 0 }
  readonly #applier: SnapshotApplier
  readonly #logger: Logger
  readonly #servers: Server[] = []
  #inFlight = 0
  #closing = false
  #drained: (() => void) | null = null

  constructor(applier: SnapshotApplier, logger: Logger) {
    this.#applier = applier
    this.#logger = logger.child({ component: 'proxy' })
  }

  /** Starts one server per address and returns their URLs. TLS listeners arrive with the TLS work. */
  async listen(addresses: readonly ListenAddress[]): Promise<string[]> {
    const urls: string[] = []
    for (const address of addresses) {
      if (address.ssl) {
        this.#logger.warn({ address }, 'TLS proxy listeners are not supported yet; skipping')
        continue
      }
      const server = createServer((req, res) => this.#onRequest(req, res, 'http'))
      server.on('connection', (socket) => {
        this.stats.connections_active++
        socket.once('close', () => this.stats.connections_active--)
      })
      this.#servers.push(server)
      const url = urlFor('http', await listen(server, address))
      this.#logger.info({ url, host: address.host, port: address.port }, 'proxy listening')
      urls.push(url)
    }
    return urls
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, scheme: 'http' | 'https'): void {
    const startedAt = performance.now()
    this.stats.total_requests++
    this.#inFlight++
    if (this.#closing) res.shouldKeepAlive = false
    const config = this.#applier.acquire()
    res.once('close', () => {
      if (config) this.#applier.release(config)
      if (--this.#inFlight === 0) this.#drained?.()
    })
    if (!config) {
      sendMessage(res, 503, MESSAGES.noConfig, startedAt)
      return
    }
    try {
      handleRequest(config, req, res, startedAt, scheme, this.#logger)
    } catch (err) {
      const requestId = newRequestId()
      this.#logger.error(
        { err, request_id: requestId, method: req.method, url: req.url },
        'proxy failed to handle a request',
      )
      if (res.headersSent) res.destroy()
      else sendMessage(res, 500, MESSAGES.unexpected, startedAt, { request_id: requestId })
    }
  }

  /** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, then drops the remaining connections. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true
    const closed = this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    for (const server of this.#servers) server.closeIdleConnections()
    if (this.#inFlight > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.#drained = resolve
        timer = setTimeout(resolve, timeoutMs)
      })
      clearTimeout(timer)
      this.#drained = null
    }
    for (const server of this.#servers) server.closeAllConnections()
    await Promise.all(closed)
  }
}
