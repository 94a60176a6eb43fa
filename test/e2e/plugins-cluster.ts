/**
 * For the plugin end-to-end tests: a control plane (PGlite) and a data plane as real `turnpike` processes, the
 * data plane fed over the cluster stream, both loading docs/examples/plugins; an echo upstream; Admin API calls
 * with form bodies as in Kong's docs, and proxy calls that wait for a change to reach the data plane.
 */
import { fileURLToPath } from 'node:url'
import { get, type Reply, sendForm } from '../support/http.ts'
import { freePort, spawnTurnpike, type TurnpikeProcess, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream, type Upstream } from '../support/upstream.ts'

export const EXAMPLE_PLUGINS = fileURLToPath(new URL('../../docs/examples/plugins', import.meta.url))

export interface ProxyReply {
  status: number
  headers: Headers
  text: string
  json: Record<string, unknown>
  /** What the echo upstream saw (its JSON), when the request got there. */
  upstream: { method: string; url: string; headers: Record<string, string>; body: string } | undefined
}

export interface PluginCluster {
  admin: string
  proxy: string
  status: string
  upstream: Upstream
  /** Admin API call with a form body (`curl -d`); arrays become `key[]`. Throws on an unexpected status. */
  form(method: string, path: string, fields: Record<string, string | string[]>, expect?: number): Promise<Reply>
  /** Admin API call with a JSON body. */
  json(method: string, path: string, body: unknown, expect?: number): Promise<Reply>
  call(path: string, init?: RequestInit): Promise<ProxyReply>
  /** Calls until `ok` holds (the config change reached the data plane), then returns that reply. */
  until(path: string, ok: (r: ProxyReply) => boolean, init?: RequestInit): Promise<ProxyReply>
  output(): string
  stop(): Promise<void>
}

async function proxyCall(url: string, init?: RequestInit): Promise<ProxyReply> {
  const res = await fetch(url, init)
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text)
  } catch {}
  const upstream = typeof json.url === 'string' && typeof json.method === 'string' ? (json as never) : undefined
  return { status: res.status, headers: res.headers, text, json, upstream }
}

export async function startPluginCluster(label: string): Promise<PluginCluster> {
  const upstream = await startEchoUpstream()
  const ports = {
    admin: await freePort(),
    cluster: await freePort(),
    proxy: await freePort(),
    status: await freePort(),
  }
  const procs: TurnpikeProcess[] = []
  procs.push(
    spawnTurnpike({
      TURNPIKE_ROLE: 'control_plane',
      TURNPIKE_DATABASE: 'pglite',
      TURNPIKE_PREFIX: tempDir(`${label}-cp`),
      TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${ports.admin}`,
      TURNPIKE_CLUSTER_LISTEN: `127.0.0.1:${ports.cluster}`,
      TURNPIKE_CLUSTER_MTLS: 'off',
      TURNPIKE_PLUGINS_DIR: EXAMPLE_PLUGINS,
    }),
  )
  procs.push(
    spawnTurnpike({
      TURNPIKE_ROLE: 'data_plane',
      TURNPIKE_PREFIX: tempDir(`${label}-dp`),
      TURNPIKE_CLUSTER_CONTROL_PLANE: `127.0.0.1:${ports.cluster}`,
      TURNPIKE_CLUSTER_MTLS: 'off',
      TURNPIKE_PROXY_LISTEN: `127.0.0.1:${ports.proxy}`,
      TURNPIKE_STATUS_LISTEN: `127.0.0.1:${ports.status}`,
      TURNPIKE_PLUGINS_DIR: EXAMPLE_PLUGINS,
    }),
  )
  const admin = `http://127.0.0.1:${ports.admin}`
  const proxy = `http://127.0.0.1:${ports.proxy}`
  const status = `http://127.0.0.1:${ports.status}`
  const output = () => procs.map((p, i) => `--- ${i === 0 ? 'control plane' : 'data plane'}\n${p.output()}`).join('\n')
  const stop = async () => {
    for (const p of procs) await p.stop('SIGKILL')
    await upstream.close()
  }
  try {
    await waitFor('admin API', async () => (await get(`${admin}/`)).status === 200, 60_000)
    await waitFor('data plane ready', async () => (await get(`${status}/status/ready`)).status === 200, 60_000)
  } catch (e) {
    const out = output()
    await stop()
    throw new Error(`${(e as Error).message}\n${out}`)
  }
  const check = (r: Reply, method: string, path: string, expect?: number) => {
    if (expect !== undefined && r.status !== expect)
      throw new Error(`${method} ${path}: expected ${expect}, got ${r.status}: ${r.text}`)
    return r
  }
  return {
    admin,
    proxy,
    status,
    upstream,
    form: async (method, path, fields, expect) =>
      check(await sendForm(method, admin + path, fields), method, path, expect),
    json: async (method, path, body, expect) => {
      const res = await fetch(admin + path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const text = await res.text()
      let json: Record<string, unknown> = {}
      try {
        json = JSON.parse(text)
      } catch {}
      return check({ status: res.status, headers: res.headers, json, text }, method, path, expect)
    },
    call: (path, init) => proxyCall(proxy + path, init),
    until: (path, ok, init) =>
      waitFor(`${path} to reflect the change`, async () => {
        const r = await proxyCall(proxy + path, init)
        return ok(r) ? r : undefined
      }),
    output,
    stop,
  }
}
