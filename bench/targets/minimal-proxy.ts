/**
 * Baseline: the smallest correct node:http + undici `Pool.dispatch` reverse proxy.
 * Keep-alive pool to the upstream, streamed bodies both ways with backpressure, hop-by-hop headers dropped.
 * It does nothing a gateway must do (routing, X-Forwarded-*, plugins), so it bounds what the data plane can reach.
 *
 * Usage: node minimal-proxy.ts --upstream http://127.0.0.1:PORT
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { type Dispatcher, Pool } from 'undici'
import { announceReady, exitOnStop } from './lifecycle.ts'

const { values } = parseArgs({ options: { upstream: { type: 'string' } } })
if (!values.upstream) throw new Error('--upstream is required')

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

const pool = new Pool(values.upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 })

function forwardHeaders(raw: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    // undici sets Host from the pool's origin.
    if (name !== 'host' && !HOP_BY_HOP.has(name)) out.push(raw[i], raw[i + 1])
  }
  return out
}

function responseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {}
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name]
  return out
}

function proxy(req: IncomingMessage, res: ServerResponse): void {
  let controller: Dispatcher.DispatchController | undefined
  res.once('close', () => {
    if (!res.writableFinished) controller?.abort(new Error('client closed the connection'))
  })
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      headers: forwardHeaders(req.rawHeaders),
      body: hasBody ? req : null,
    },
    {
      onRequestStart(c) {
        controller = c
      },
      onResponseStart(_c, statusCode, headers) {
        res.writeHead(statusCode, responseHeaders(headers))
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause()
          res.once('drain', () => c.resume())
        }
      },
      onResponseEnd() {
        res.end()
      },
      onResponseError(_c, err) {
        if (res.headersSent) res.destroy(err)
        else {
          res.writeHead(502, { 'content-type': 'text/plain' })
          res.end('bad gateway\n')
        }
      },
    },
  )
}

const server = createServer(proxy)
server.keepAliveTimeout = 120_000
server.maxRequestsPerSocket = 0
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  announceReady({ url: `http://127.0.0.1:${port}`, port })
})
exitOnStop(async () => {
  server.closeAllConnections()
  server.close()
  await pool.destroy()
})
