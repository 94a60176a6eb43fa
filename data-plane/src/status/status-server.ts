/** The Status API (Kong's status_listen): liveness and sync details at /status, readiness at /status/ready. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ListenAddress, Logger } from '@turnpike/shared'
import type { ConfigRef, SyncStatus } from '../config-source/config-source.ts'
import { closeServer, listen, urlFor } from '../http/listen.ts'
import { sendJson } from '../http/respond.ts'
import type { ProxyStats } from '../proxy/proxy-server.ts'
import type { WorkerStatus } from '../workers/proxy-workers.ts'

export interface StatusSources {
  /** The config the node serves, if any. */
  config(): ConfigRef | undefined
  /** Every proxy worker serves that config. */
  ready(): boolean
  sync(): SyncStatus
  /** The node's proxy counters (every worker's) and each worker's state. */
  stats(): Promise<{ server: ProxyStats; workers: WorkerStatus[] }>
  /** Prometheus text exposition for /metrics (Kong's status listener serves it too). */
  metrics?: () => Promise<string>
}

function memory(): Record<string, number> {
  const m = process.memoryUsage()
  return {
    rss: m.rss,
    heap_total: m.heapTotal,
    heap_used: m.heapUsed,
    external: m.external,
    array_buffers: m.arrayBuffers,
  }
}

export class StatusServer {
  readonly #sources: StatusSources
  readonly #logger: Logger
  readonly #servers: Server[] = []

  constructor(sources: StatusSources, logger: Logger) {
    this.#sources = sources
    this.#logger = logger.child({ component: 'status' })
  }

  async listen(addresses: readonly ListenAddress[]): Promise<string[]> {
    const urls: string[] = []
    for (const address of addresses) {
      if (address.ssl) {
        this.#logger.warn({ address }, 'TLS status listeners are not supported yet; skipping')
        continue
      }
      const server = createServer((req, res) => this.#onRequest(req, res))
      this.#servers.push(server)
      const url = urlFor('http', await listen(server, address))
      this.#logger.info({ url }, 'status API listening')
      urls.push(url)
    }
    return urls
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#answer(req, res).catch((err) => {
      this.#logger.error({ err, url: req.url }, 'status request failed')
      if (!res.headersSent) sendJson(res, 500, { message: 'An unexpected error occurred' })
      else res.destroy()
    })
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0].replace(/\/+$/, '')
    if (path === '/metrics' && this.#sources.metrics && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = await this.#sources.metrics()
      res.writeHead(200, {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } else if (path !== '/status' && path !== '/status/ready') sendJson(res, 404, { message: 'Not found' })
    else if (req.method !== 'GET' && req.method !== 'HEAD')
      sendJson(res, 405, { message: 'Method not allowed' }, { Allow: 'GET, HEAD' })
    else if (path === '/status/ready') this.#ready(res)
    else await this.#status(res)
  }

  #ready(res: ServerResponse): void {
    if (this.#sources.ready()) sendJson(res, 200, { message: 'ready' })
    else if (this.#sources.config())
      sendJson(res, 503, { message: 'not every worker serves the current configuration' })
    else sendJson(res, 503, { message: 'no configuration applied yet' })
  }

  async #status(res: ServerResponse): Promise<void> {
    const config = this.#sources.config()
    const { server, workers } = await this.#sources.stats()
    sendJson(res, 200, {
      configuration_hash: config?.hash ?? null,
      config_version: config?.version ?? null,
      sync: this.#sources.sync(),
      server,
      workers,
      memory: memory(),
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.map(closeServer))
  }
}
