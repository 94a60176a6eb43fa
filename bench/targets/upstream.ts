/**
 * Benchmark upstream: node:http answering every request with a fixed small body, or 64 KiB under BIG_PATH.
 * Listens on `--ports` ports (default 3) in one process, so a data plane balancing over them uses the same
 * upstream CPU as one pointed at a single host. Announces the first as `url`/`port`, all of them as `ports`.
 *
 * Usage: node upstream.ts [--ports N]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { BIG_BODY_BYTES, BIG_PATH, SMALL_BODY } from '../lib/workload.ts'
import { announceReady, exitOnStop } from './lifecycle.ts'

const { values } = parseArgs({ options: { ports: { type: 'string', default: '3' } } })
const count = Number(values.ports)
if (!Number.isInteger(count) || count < 1) throw new Error(`--ports must be a positive integer, got '${values.ports}'`)

const small = Buffer.from(SMALL_BODY)
const big = Buffer.alloc(BIG_BODY_BYTES, 'x')
const smallHeaders = { 'content-type': 'application/json', 'content-length': String(small.length) }
const bigHeaders = { 'content-type': 'application/octet-stream', 'content-length': String(big.length) }

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.startsWith(BIG_PATH)) {
    res.writeHead(200, bigHeaders)
    res.end(big)
  } else {
    res.writeHead(200, smallHeaders)
    res.end(small)
  }
}

function listen(): Promise<Server> {
  const server = createServer(answer)
  // Keep-alive for as long as a measurement lasts, and no per-socket request cap.
  server.keepAliveTimeout = 120_000
  server.maxRequestsPerSocket = 0
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

const servers = await Promise.all(Array.from({ length: count }, listen))
const ports = servers.map((s) => (s.address() as AddressInfo).port)
announceReady({ url: `http://127.0.0.1:${ports[0]}`, port: ports[0], ports })
exitOnStop(() => {
  for (const s of servers) {
    s.closeAllConnections()
    s.close()
  }
})
