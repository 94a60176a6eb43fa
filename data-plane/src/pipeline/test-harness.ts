/**
 * For plugin tests: a real data plane fed in-process, an echo upstream, and helpers to publish services, routes,
 * consumers, credentials and plugins (Admin-API-shaped rows, defaults filled by the definitions) and to call it.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type ConfigEntities,
  type EntityRow,
  entityByName,
  flattenErrors,
  validateEntity,
  validatePlugin,
} from '@turnpike/shared'
import type { DataPlane } from '../data-plane.ts'
import { startTestDataPlane } from '../testing/harness.ts'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** The body as JSON (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined
  /** What the echo upstream received, when the request got there. */
  upstream: { method: string; url: string; headers: IncomingHttpHeaders; body: string } | undefined
}

/** A validated row of `collection` with an id (and the foreign fields as `{id}`). */
export function row(collection: string, input: Record<string, unknown>): EntityRow {
  if (collection === 'plugins') {
    const r = validatePlugin({ id: randomUUID(), ...input })
    if (!r.ok) throw new Error(`bad plugin fixture: ${flattenErrors(r.errors).join('; ')}`)
    return { ...r.value, id: r.value.id as string, created_at: 1 }
  }
  const def = entityByName(collection)
  if (!def) throw new Error(`unknown collection ${collection}`)
  const r = validateEntity(def, { id: randomUUID(), ...input })
  if (!r.ok) throw new Error(`bad ${collection} fixture: ${flattenErrors(r.errors).join('; ')}`)
  return { ...r.value, id: r.value.id as string, created_at: 1 }
}

export interface Harness {
  dp: DataPlane
  upstreamUrl: string
  /** Entities every snapshot starts from: one service `echo` pointing at the upstream. */
  serviceId: string
  /** Publishes a snapshot and waits until the data plane serves it (or rejects it: the error is thrown). */
  publish(entities: ConfigEntities): Promise<void>
  call(
    path: string,
    opts?: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer },
  ): Promise<Reply>
  close(): Promise<void>
}

/** `settings`: overrides for the data plane's settings (e.g. `plugins_dir`). */
export async function startHarness(settings: Record<string, string> = {}): Promise<Harness> {
  const upstream: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = req.url ?? '/'
      if (url.startsWith('/status/')) {
        const status = Number(url.slice(8, 11))
        res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': 'yes' })
        res.end(`status ${status}`)
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' })
      res.end(
        JSON.stringify({
          echo: { method: req.method, url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') },
        }),
      )
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const upstreamPort = (upstream.address() as AddressInfo).port
  const testDataPlane = await startTestDataPlane(settings)
  const { dp, feed } = testDataPlane
  const serviceId = randomUUID()

  const statusOf = async (): Promise<{ hash: string | null; error: string | null }> => {
    const r = await fetch(`${dp.statusUrl}/status`)
    const s = (await r.json()) as { configuration_hash: string | null; sync: { last_error: string | null } }
    return { hash: s.configuration_hash, error: s.sync.last_error }
  }

  return {
    dp,
    upstreamUrl: `http://127.0.0.1:${upstreamPort}`,
    serviceId,
    async publish(entities) {
      const service = row('services', { id: serviceId, name: 'echo', url: `http://127.0.0.1:${upstreamPort}` })
      const snapshot = feed.publish({ ...entities, services: [service, ...(entities.services ?? [])] })
      for (let i = 0; i < 500; i++) {
        const s = await statusOf()
        if (s.hash === snapshot.hash) return
        if (s.error) throw new Error(s.error)
        await new Promise((r) => setTimeout(r, 5))
      }
      throw new Error('snapshot not applied in time')
    },
    call(path, opts = {}) {
      const { hostname, port } = new URL(dp.proxyUrl)
      return new Promise((resolve, reject) => {
        const req = request(
          { hostname, port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const body = Buffer.concat(chunks).toString('utf8')
              let json: Record<string, unknown> | undefined
              try {
                json = JSON.parse(body)
              } catch {}
              const upstreamSaw = json?.echo as Reply['upstream']
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json, upstream: upstreamSaw })
            })
          },
        )
        req.on('error', reject)
        req.end(opts.body)
      })
    },
    async close() {
      await testDataPlane.close()
      upstream.closeAllConnections()
      upstream.close()
    },
  }
}

/** A route on the harness's service. */
export function routeRow(serviceId: string, input: Record<string, unknown>): EntityRow {
  return row('routes', { service: { id: serviceId }, ...input })
}
