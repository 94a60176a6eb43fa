/**
 * Test support for end-to-end data plane tests: an in-process snapshot feed, a data plane started on loopback
 * ports chosen at run time, and HTTP helpers that send requests verbatim. Not used by product code.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { type IncomingHttpHeaders, request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  type ConfigEntities,
  createLogger,
  loadSettings,
  type Snapshot,
  type SnapshotFeed,
  sealSnapshot,
} from '@turnpike/shared'
import { FeedConfigSource } from '../config-source/feed-config-source.ts'
import { type DataPlane, startDataPlane } from '../data-plane.ts'

export class TestFeed implements SnapshotFeed {
  #current: Snapshot | undefined
  #version = 0
  readonly #listeners = new Set<(s: Snapshot) => void>()
  current() {
    return this.#current
  }
  subscribe(listener: (s: Snapshot) => void) {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
  publish(entities: ConfigEntities): Snapshot {
    this.#current = sealSnapshot(++this.#version, entities)
    for (const l of this.#listeners) l(this.#current)
    return this.#current
  }
}

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** Sends `target` verbatim (no URL normalization by the client) to the server at `base`. */
export function call(
  base: string,
  target: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Readable | string | Buffer } = {},
): Promise<Reply> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const init = {
      hostname: hostname.replace(/^\[|\]$/g, ''),
      port,
      path: target,
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: false,
    }
    const req = request(init, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (opts.body instanceof Readable) opts.body.pipe(req)
    else req.end(opts.body)
  })
}

export const json = (r: { body: Buffer }) => JSON.parse(r.body.toString('utf8'))

/** Polls until `check` passes: waits on the system, never asserts on time. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.fail(`timed out waiting for ${what}`)
}

export interface RawReply {
  /** Everything the server sent until it closed the connection (or `waitMs` passed). */
  text: string
  status: number
}

/** Writes bytes on a fresh TCP connection and collects the answer until the server closes it. */
export function raw(port: number, ...parts: (string | Buffer | { pauseMs: number })[]): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const finish = () => {
      const text = Buffer.concat(chunks).toString('latin1')
      resolve({ text, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0) })
      socket.destroy()
    }
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      // A complete answer with a Content-Length ends the exchange even on a kept-alive connection.
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))
      if (end !== -1 && length && text.length - end - 4 >= Number(length[1])) finish()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer still counts as the answer.
      if (chunks.length && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) return
      reject(err)
    })
    socket.on('close', finish)
    // Safety net for a server that keeps the connection: the test then fails on the status.
    socket.setTimeout(10_000, () => socket.destroy())
    socket.once('connect', async () => {
      for (const part of parts) {
        if (typeof part === 'object' && !Buffer.isBuffer(part)) await new Promise((r) => setTimeout(r, part.pauseMs))
        else if (!socket.destroyed) socket.write(part)
      }
    })
  })
}

export interface TestDataPlane {
  dp: DataPlane
  feed: TestFeed
  prefix: string
  /** Publishes entities and waits until the data plane serves them. */
  apply(entities: ConfigEntities): Promise<void>
  close(): Promise<void>
}

/**
 * Starts a data plane fed in-process; `overrides` are settings (`proxy_listen` defaults to one plain listener),
 * `shutdownTimeoutMs` bounds how long `close()` waits for in-flight requests.
 */
export async function startTestDataPlane(
  overrides: Record<string, string> = {},
  { shutdownTimeoutMs = 500 }: { shutdownTimeoutMs?: number } = {},
): Promise<TestDataPlane> {
  const prefix = await mkdtemp(join(tmpdir(), 'turnpike-dp-'))
  const feed = new TestFeed()
  const settings = loadSettings({
    env: {},
    // One proxy worker unless a test asks for more: most tests are about what one worker does.
    overrides: {
      role: 'data_plane',
      prefix,
      proxy_listen: '127.0.0.1:0',
      status_listen: '127.0.0.1:0',
      worker_processes: '1',
      ...overrides,
    },
  })
  const dp = await startDataPlane({
    settings,
    logger: createLogger(process.env.TURNPIKE_TEST_LOG ?? 'silent'),
    source: new FeedConfigSource(feed),
    shutdownTimeoutMs,
  })
  return {
    dp,
    feed,
    prefix,
    async apply(entities) {
      const snapshot = feed.publish(entities)
      await eventually(async () => {
        const res = await call(dp.statusUrl, '/status')
        const status = json(res)
        if (status.sync?.last_error && status.config_version !== snapshot.version)
          assert.fail(`snapshot rejected: ${status.sync.last_error}`)
        return status.config_version === snapshot.version
      }, `snapshot ${snapshot.version}`)
    },
    async close() {
      await dp.close()
      await rm(prefix, { recursive: true, force: true })
    },
  }
}

/** A uuid-shaped id from a small number, for readable fixtures. */
export const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

/** Deterministic request/response bytes, produced lazily so nothing holds the whole body. */
export function lazyBody(bytes: number): Readable {
  let sent = 0
  const chunk = Buffer.alloc(64 * 1024, 'turnpike')
  return new Readable({
    read() {
      if (sent >= bytes) return this.push(null)
      const n = Math.min(chunk.length, bytes - sent)
      sent += n
      this.push(chunk.subarray(0, n))
    },
  })
}
