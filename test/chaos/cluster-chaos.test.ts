/**
 * Cluster chaos with real processes on loopback: a Postgres the test owns, two control plane replicas and
 * data planes over shared mTLS, under a steady proxied load. The database dies and comes back, a control plane
 * dies, data planes restart with every control plane down, one falls behind while stopped, one cannot run a
 * plugin, one presents the wrong certificate — and no proxied request fails. `npm test` runs one round of the
 * database and control plane outages; `npm run test:chaos` (TURNPIKE_CHAOS_ROUNDS=n) repeats them under longer load.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Agent, request } from 'undici'
import { get, sendForm } from '../support/http.ts'
import { type OwnedPostgres, ownedPostgresUnavailable, startOwnedPostgres } from '../support/owned-postgres.ts'
import {
  clusterCertEnv,
  freePort,
  spawnTurnpike,
  type TurnpikeProcess,
  tempDir,
  waitFor,
} from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

const missing = ownedPostgresUnavailable()
const ROUNDS = Math.max(1, Number(process.env.TURNPIKE_CHAOS_ROUNDS ?? 1))

interface Node {
  name: string
  proc: TurnpikeProcess
  env: Record<string, string>
}

interface DataPlaneNode extends Node {
  proxy: string
  status: string
}

/** A steady load: sequential keep-alive requests round-robin over the data planes, every failure recorded. */
function steadyLoad(targets: () => string[], path: string) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 4 })
  const failures: string[] = []
  let sent = 0
  let stopped = false
  const MAX = 200_000
  const loop = async (worker: number) => {
    for (let i = worker; !stopped && sent < MAX; i++) {
      const list = targets()
      const base = list[i % list.length]!
      sent++
      try {
        const res = await request(`${base}${path}`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
        await res.body.text()
        if (res.statusCode !== 200) failures.push(`${base}: HTTP ${res.statusCode}`)
      } catch (err) {
        failures.push(`${base}: ${(err as Error).message}`)
      }
    }
  }
  const running = Promise.all([loop(0), loop(1)])
  return {
    get sent() {
      return sent
    },
    failures,
    async stop() {
      stopped = true
      await running
      await agent.close()
    },
  }
}

test('cluster chaos: outages of the database, control planes and data planes', {
  skip: missing,
  timeout: 300_000,
}, async (t) => {
  const pg: OwnedPostgres = await startOwnedPostgres()
  const upstream = await startEchoUpstream('chaos-upstream')
  const nodes: Node[] = []
  t.after(async () => {
    for (const n of nodes) await n.proc.stop('SIGKILL')
    await upstream.close()
    await pg.destroy()
  })
  const dump = () => nodes.map((n) => `--- ${n.name}\n${n.proc.output().slice(-6000)}`).join('\n')
  const step = (what: string) => t.diagnostic(`${new Date().toISOString()} ${what}`)

  const mtls = await clusterCertEnv(tempDir('chaos-cert'))
  const cps = [
    { admin: await freePort(), cluster: await freePort() },
    { admin: await freePort(), cluster: await freePort() },
  ]
  const adminUrl = (i: number) => `http://127.0.0.1:${cps[i]!.admin}`
  const clusterList = (first: number) => [first, 1 - first].map((i) => `127.0.0.1:${cps[i]!.cluster}`).join(',')

  function launch(node: Node): void {
    node.proc = spawnTurnpike(node.env)
    if (!nodes.includes(node)) nodes.push(node)
  }
  function controlPlane(i: number): Node {
    const node = {
      name: `cp${i + 1}`,
      env: {
        ...pg.env,
        ...mtls,
        TURNPIKE_ROLE: 'control_plane',
        TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${cps[i]!.admin}`,
        TURNPIKE_CLUSTER_LISTEN: `127.0.0.1:${cps[i]!.cluster}`,
        TURNPIKE_PREFIX: tempDir(`chaos-cp${i + 1}`),
      },
    } as unknown as Node
    launch(node)
    return node
  }
  async function dataPlane(name: string, firstCp: number, extra: Record<string, string> = {}): Promise<DataPlaneNode> {
    const [proxyPort, statusPort] = [await freePort(), await freePort()]
    const node = {
      name,
      proxy: `http://127.0.0.1:${proxyPort}`,
      status: `http://127.0.0.1:${statusPort}`,
      env: {
        ...mtls,
        TURNPIKE_ROLE: 'data_plane',
        TURNPIKE_CLUSTER_CONTROL_PLANE: clusterList(firstCp),
        TURNPIKE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
        TURNPIKE_STATUS_LISTEN: `127.0.0.1:${statusPort}`,
        TURNPIKE_PREFIX: tempDir(`chaos-${name}`),
        TURNPIKE_CLUSTER_DP_LABELS: `name:${name}`,
        ...extra,
      },
    } as unknown as DataPlaneNode
    launch(node)
    return node
  }
  interface NodeStatus {
    configuration_hash: string | null
    sync?: { last_error: string | null; refusal?: { sync_status: string; message: string } | null }
  }
  const status = async (dp: DataPlaneNode) => (await get(`${dp.status}/status`)).json as unknown as NodeStatus
  const serves = (dp: DataPlaneNode, path: string) => async () => (await get(`${dp.proxy}${path}`)).status === 200
  const currentHash = async (cp: number) => (await get(`${adminUrl(cp)}/status`)).json.configuration_hash
  /** Every data plane serves what control plane `cp` has built (re-read each time: it may still be catching up). */
  const allOn = async (dps: DataPlaneNode[], cp: number) => {
    for (const dp of dps)
      await waitFor(
        `${dp.name} serving the config of cp${cp + 1}`,
        async () => (await status(dp)).configuration_hash === (await currentHash(cp)),
        30_000,
      )
  }

  try {
    step('starting Postgres, two control planes and three data planes')
    const cp1 = controlPlane(0)
    await waitFor('cp1 Admin API', async () => (await get(`${adminUrl(0)}/`)).status === 200, 30_000)
    const cp2 = controlPlane(1)
    await waitFor('cp2 Admin API', async () => (await get(`${adminUrl(1)}/`)).status === 200, 30_000)
    const dps = [await dataPlane('dp1', 0), await dataPlane('dp2', 1), await dataPlane('dp3', 0)]

    const svc = await sendForm('POST', `${adminUrl(0)}/services`, { name: 'echo', url: upstream.url })
    assert.equal(svc.status, 201, svc.text)
    assert.equal(
      (await sendForm('POST', `${adminUrl(0)}/services/echo/routes`, { name: 'main', paths: ['/main'] })).status,
      201,
    )
    for (const dp of dps) await waitFor(`${dp.name} serving /main`, serves(dp, '/main/x'), 30_000)
    // dp2 hangs off cp2, which learned of the write through NOTIFY alone.
    await allOn(dps, 1)

    const live = new Set(dps)
    const load = steadyLoad(() => [...live].map((d) => d.proxy), '/main/load')

    for (let round = 1; round <= ROUNDS; round++) {
      step(`round ${round}: Postgres down`)
      await pg.kill()
      const refused = await waitFor(
        'admin writes answering 503',
        async () => {
          const r = await sendForm('POST', `${adminUrl(0)}/services`, {
            name: `while-down-${round}`,
            url: upstream.url,
          })
          return r.status === 503 ? r : undefined
        },
        20_000,
      )
      assert.match(String(refused.json.message), /database/i, refused.text)
      // A data plane that never ran gets the last snapshot from a control plane whose database is gone.
      const late = await dataPlane(`late${round}`, 0)
      await waitFor(`${late.name} serving /main while Postgres is down`, serves(late, '/main/late'), 30_000)
      await late.proc.stop()

      step(`round ${round}: Postgres back`)
      await pg.start()
      const created = await waitFor(
        'admin writes working again',
        async () => {
          const r = await sendForm('POST', `${adminUrl(0)}/services/echo/routes`, {
            name: `after-db-${round}`,
            paths: [`/after-db-${round}`],
          })
          return r.status === 201 ? r : undefined
        },
        30_000,
      )
      assert.equal(created.status, 201)
      for (const dp of dps)
        await waitFor(`${dp.name} serving the route made after recovery`, serves(dp, `/after-db-${round}/x`), 30_000)
      await allOn(dps, 1)

      step(`round ${round}: cp2 killed and restarted`)
      await cp2.proc.stop('SIGKILL')
      const path = `/cp2-down-${round}`
      const made = await sendForm('POST', `${adminUrl(0)}/services/echo/routes`, {
        name: `cp2-down-${round}`,
        paths: [path],
      })
      assert.equal(made.status, 201, made.text)
      // dp2 moved to cp1 and gets the change from there.
      for (const dp of dps)
        await waitFor(`${dp.name} serving a route made while cp2 was down`, serves(dp, `${path}/x`), 30_000)
      launch(cp2)
      await waitFor('cp2 back', async () => (await get(`${adminUrl(1)}/`)).status === 200, 30_000)
      await allOn(dps, 1)
    }

    step('cp1 killed: its data planes move to cp2 and resume from the version they hold')
    const applied = (dp: DataPlaneNode) =>
      dp.proc
        .output()
        .split('\n')
        .filter((l) => l.includes('"config applied"')).length
    const before = dps.map(applied)
    await cp1.proc.stop('SIGKILL')
    const cp2Planes = async () =>
      ((await get(`${adminUrl(1)}/clustering/data-planes`)).json.data as Record<string, unknown>[]).filter((d) =>
        dps.some((dp) => (d.labels as Record<string, string>).name === dp.name),
      )
    await waitFor(
      'every data plane on cp2, in sync',
      async () => {
        const rows = await cp2Planes()
        const cpIds = new Set(rows.map((r) => r.control_plane_id))
        return rows.length === 3 && cpIds.size === 1 && rows.every((r) => r.connected && r.sync_status === 'normal')
      },
      30_000,
    )
    assert.deepEqual(dps.map(applied), before, 'reconnecting to another replica re-applied nothing')
    assert.equal(
      (await sendForm('POST', `${adminUrl(1)}/services/echo/routes`, { name: 'via-cp2', paths: ['/via-cp2'] })).status,
      201,
    )
    for (const dp of dps) await waitFor(`${dp.name} serving a route made on cp2`, serves(dp, '/via-cp2/x'), 30_000)

    await load.stop()
    step(`load: ${load.sent} requests, ${load.failures.length} failures`)
    assert.ok(load.sent > 100, `the load loop ran (${load.sent} requests)`)
    assert.deepEqual(load.failures.slice(0, 20), [], `failed proxied requests during outages (${load.failures.length})`)

    step('dp3 stopped, config changed, dp3 restarted: it catches up from its cache')
    const dp3 = dps[2]!
    await dp3.proc.stop()
    assert.equal(
      (await sendForm('POST', `${adminUrl(1)}/services/echo/routes`, { name: 'while-away', paths: ['/while-away'] }))
        .status,
      201,
    )
    launch(dp3)
    await waitFor('dp3 serving the change made while it was away', serves(dp3, '/while-away/x'), 30_000)
    assert.match(dp3.proc.output(), /loaded config from the cache/)

    step('a data plane without the plugins a config needs is refused it and keeps its config')
    const reduced = await dataPlane('reduced', 1, { TURNPIKE_PLUGINS: 'cors' })
    const route = await sendForm('POST', `${adminUrl(1)}/services/echo/routes`, {
      name: 'blocked',
      paths: ['/blocked'],
    })
    assert.equal(route.status, 201, route.text)
    await waitFor('reduced serving /blocked', serves(reduced, '/blocked/x'), 30_000)
    const held = (await status(reduced)).configuration_hash
    const plugin = await sendForm('POST', `${adminUrl(1)}/routes/blocked/plugins`, { name: 'request-termination' })
    assert.equal(plugin.status, 201, plugin.text)
    const refusal = await waitFor(
      'a refusal in the reduced node’s status',
      async () => (await status(reduced)).sync?.refusal,
      30_000,
    )
    assert.equal(refusal?.sync_status, 'plugin_set_incompatible')
    assert.match(refusal?.message ?? '', /request-termination/)
    assert.equal((await status(reduced)).configuration_hash, held, 'the refused node keeps its config')
    assert.equal((await get(`${reduced.proxy}/main/x`)).status, 200)
    const row = await waitFor('the refusal in the registry', async () =>
      ((await get(`${adminUrl(1)}/clustering/data-planes`)).json.data as Record<string, unknown>[]).find(
        (d) => (d.labels as Record<string, string>).name === 'reduced' && d.sync_status === 'plugin_set_incompatible',
      ),
    )
    assert.match(String(row.last_error), /request-termination/)
    await reduced.proc.stop()

    step('a data plane with another certificate is refused, and the control plane logs it')
    const stranger = await clusterCertEnv(tempDir('chaos-stranger'))
    // It trusts the cluster's certificate (so it gets as far as a stream) but presents its own.
    const intruder = await dataPlane('intruder', 1, {
      TURNPIKE_CLUSTER_MTLS: 'pki',
      TURNPIKE_CLUSTER_CA_CERT: mtls.TURNPIKE_CLUSTER_CERT!,
      TURNPIKE_CLUSTER_SERVER_NAME: 'turnpike_clustering',
      TURNPIKE_CLUSTER_CERT: stranger.TURNPIKE_CLUSTER_CERT!,
      TURNPIKE_CLUSTER_CERT_KEY: stranger.TURNPIKE_CLUSTER_CERT_KEY!,
    })
    await waitFor(
      'cp2 logging the refusal',
      async () => /refused a data plane: invalid cluster certificate/.test(cp2.proc.output()),
      30_000,
    )
    await waitFor(
      'the intruder saying why',
      async () => /cluster certificate refused/.test(intruder.proc.output()),
      30_000,
    )
    assert.equal((await get(`${intruder.status}/status/ready`)).status, 503)
    assert.equal((await get(`${intruder.proxy}/main/x`)).status, 503)
    await intruder.proc.stop()

    step('every control plane down: a restarted data plane serves from its cache')
    await cp2.proc.stop('SIGKILL')
    const dp1 = dps[0]!
    await dp1.proc.stop()
    launch(dp1)
    await waitFor(
      'dp1 ready from its cache',
      async () => (await get(`${dp1.status}/status/ready`)).status === 200,
      30_000,
    )
    const r = await get(`${dp1.proxy}/via-cp2/from-cache`)
    assert.equal(r.status, 200)
    assert.equal(r.json.url, '/from-cache')
    assert.match(String((await status(dp1)).sync?.last_error ?? ''), /./, 'the status says the control plane is away')
  } catch (err) {
    t.diagnostic(dump())
    throw err
  }
})

if (missing) test(`cluster chaos needs an owned Postgres: ${missing}`, { skip: missing }, () => {})
