/** Benchmark upstream: node:http answering every request with a fixed small body, or 64 KiB under BIG_PATH. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BIG_BODY_BYTES, BIG_PATH, SMALL_BODY } from '../lib/workload.ts'
import { announceReady, exitOnStop } from './lifecycle.ts'

const small = Buffer.from(SMALL_BODY)
const big = Buffer.alloc(BIG_BODY_BYTES, 'x')
const smallHeaders = { 'content-type': 'application/json', 'content-length': String(small.length) }
const bigHeaders = { 'content-type': 'application/octet-stream', 'content-length': String(big.length) }

const server = createServer((req, res) => {
  if (req.url?.startsWith(BIG_PATH)) {
    res.writeHead(200, bigHeaders)
    res.end(big)
  } else {
    res.writeHead(200, smallHeaders)
    res.end(small)
  }
})
// Keep-alive for as long as a measurement lasts, and no per-socket request cap.
server.keepAliveTimeout = 120_000
server.maxRequestsPerSocket = 0

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  announceReady({ url: `http://127.0.0.1:${port}`, port })
})
exitOnStop(() => {
  server.closeAllConnections()
  server.close()
})
