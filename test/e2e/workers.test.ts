/**
 * A node with two proxy workers (worker_processes = 2), as a real process: both workers take connections on the
 * one proxy port, a config change reaches both, a local rate limit of 10/minute holds for the node, /metrics
 * counts every worker's requests, a worker that dies is restarted while the other keeps serving, and
 * `turnpike reload` replaces every worker and re-reads the declarative file without refusing a request.
 */
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { get } from '../support/http.ts'
import { runTurnpike, startLocalNode, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

/** One request on its own connection: the kernel picks the worker for each new connection. */
function fresh(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.end()
  })
}

async function many(url: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await fresh(url))
  return out
}

const count = (codes: number[], code: number) => codes.filter((c) => c === code).length

interface WorkerView {
  index: number
  thread_id: number
  state: string
  config_version: number | null
  server: { total_requests: number } | null
}

/** A plugin with a bug that kills the thread it runs on (an exception thrown outside any request). */
function writeCrashPlugin(dir: string): void {
  mkdirSync(join(dir, 'crasher'), { recursive: true })
  writeFileSync(
    join(dir, 'crasher', 'definition.ts'),
    `export const definition = {
  name: 'crasher', version: '1.0.0', priority: 1, phases: ['access'],
  protocols: { allowed: ['http', 'https'], default: ['http', 'https'] }, config: {},
}
`,
  )
  writeFileSync(
    join(dir, 'crasher', 'handler.ts'),
    `export const handler = {
  access(ctx) {
    setTimeout(() => { throw new Error('a plugin bug outside any request') }, 0)
    return ctx.error(503, 'crashing')
  },
}
`,
  )
}

test('two proxy workers: shared port, config on both, node-wide rate limit and metrics, crash recovery', async (t) => {
  const upstream = await startEchoUpstream()
  const dir = tempDir('workers')
  const plugins = join(dir, 'plugins')
  writeCrashPlugin(plugins)
  const config = (extraRoute: string) => `_format_version: "3.0"
services:
- name: echo
  url: ${upstream.url}
  routes:
  - name: open
    paths: [/open]
  - name: limited
    paths: [/limited]
    plugins:
    - name: rate-limiting
      config: { minute: 10, policy: local }
  - name: crash
    paths: [/crash]
    plugins:
    - name: crasher
${extraRoute}
plugins:
- name: prometheus
  config: { status_code_metrics: true }
`
  const file = join(dir, 'kong.yml')
  writeFileSync(file, config(''))
  const { node, env, admin, proxy, status } = await startLocalNode({
    TURNPIKE_DATABASE: 'off',
    TURNPIKE_DECLARATIVE_CONFIG: file,
    TURNPIKE_PREFIX: join(dir, 'prefix'),
    TURNPIKE_PLUGINS_DIR: plugins,
    TURNPIKE_PLUGINS: 'bundled,crasher',
    TURNPIKE_WORKER_PROCESSES: '2',
  })
  t.after(async () => {
    await node.stop('SIGKILL')
    await upstream.close()
  })
  const workers = async () => (await get(`${status}/status`)).json.workers as WorkerView[]

  await waitFor('the node ready on both workers', async () => (await get(`${status}/status/ready`)).status === 200)
  const started = await workers()
  assert.equal(started.length, 2)
  assert.ok(started.every((w) => w.state === 'serving' && w.config_version === started[0]?.config_version))

  // Both workers take connections on the one port.
  assert.deepEqual(new Set(await many(`${proxy}/open`, 40)), new Set([200]))
  const served = await workers()
  assert.ok(
    served.every((w) => (w.server?.total_requests ?? 0) > 0),
    `every worker served: ${JSON.stringify(served.map((w) => w.server))}`,
  )

  // 10 per minute for the node, whichever worker each request reaches.
  const limited = await many(`${proxy}/limited`, 16)
  assert.equal(count(limited, 200), 10, `codes: ${limited}`)
  assert.equal(count(limited, 429), 6, `codes: ${limited}`)

  // /metrics adds up every worker's series.
  const metrics = await (await fetch(`${status}/metrics`)).text()
  const total = (route: string, code: string) =>
    metrics
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('kong_http_requests_total{') && l.includes(`route="${route}"`) && l.includes(`code="${code}"`),
      )
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
  assert.equal(total('open', '200'), 40, metrics)
  assert.equal(total('limited', '429'), 6)

  // A config change reaches both workers before the node says it serves it.
  const before = (await get(`${status}/status`)).json.config_version as number
  const posted = await fetch(`${admin}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: config('  - name: added\n    paths: [/added]') }),
  })
  assert.equal(posted.status, 201, await posted.text())
  await waitFor('the new config on every worker', async () => {
    const s = (await get(`${status}/status`)).json
    return (
      (s.config_version as number) > before &&
      (s.workers as WorkerView[]).every((w) => w.config_version === s.config_version) &&
      (await get(`${status}/status/ready`)).status === 200
    )
  })
  assert.deepEqual(new Set(await many(`${proxy}/added`, 20)), new Set([200]))

  // A worker killed by a plugin bug: the other serves meanwhile, and it comes back on the current config.
  const threads = new Set((await workers()).map((w) => w.thread_id))
  assert.equal(await fresh(`${proxy}/crash`), 503)
  await waitFor('the crashed worker gone', async () =>
    (await workers()).some((w) => w.state === 'exited' || !threads.has(w.thread_id)),
  )
  // The other worker answers meanwhile (the dead one's socket left the port with it).
  assert.deepEqual(new Set(await many(`${proxy}/open`, 10)), new Set([200]))
  const restarted = await waitFor('a worker restarted', async () => {
    const now = await workers()
    return now.every((w) => w.state === 'serving') && now.some((w) => !threads.has(w.thread_id)) ? now : undefined
  })
  assert.equal(restarted.length, 2)
  await waitFor('ready again', async () => (await get(`${status}/status/ready`)).status === 200)
  assert.deepEqual(new Set(await many(`${proxy}/added`, 20)), new Set([200]))

  // Reload: the file read again, a new generation of workers, and not one request refused meanwhile.
  writeFileSync(file, config('  - name: reloaded\n    paths: [/reloaded]'))
  const beforeReload = new Set((await workers()).map((w) => w.thread_id))
  let stop = false
  const during: number[] = []
  const load = (async () => {
    while (!stop) during.push(await fresh(`${proxy}/open`))
  })()
  const signalled = await runTurnpike(env, ['reload'])
  assert.equal(signalled.code, 0, signalled.stderr)
  await waitFor('the reloaded file served by a new generation', async () => {
    const now = await workers()
    return (
      now.length === 2 &&
      now.every((w) => w.state === 'serving' && !beforeReload.has(w.thread_id)) &&
      (await fresh(`${proxy}/reloaded`)) === 200
    )
  })
  stop = true
  await load
  assert.ok(during.length > 0)
  assert.deepEqual(
    new Set(during),
    new Set([200]),
    `${during.filter((c) => c !== 200).length} of ${during.length} refused`,
  )
})
