/**
 * Split mode with real processes: a control plane on the machine's Postgres and two data planes, over shared
 * cluster mTLS (the default) with a pair from `turnpike cert gen`. Config written through the Admin API reaches
 * both; the CP lists them; they keep serving when the control plane dies.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { get, sendForm } from '../support/http.ts'
import { postgresUnavailable, scratchDatabase } from '../support/postgres.ts'
import {
  clusterCertEnv,
  freePort,
  spawnTurnpike,
  type TurnpikeProcess,
  tempDir,
  waitFor,
} from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

const missing = await postgresUnavailable()

test('split mode: control plane on Postgres feeds two data planes', { skip: missing }, async (t) => {
  const db = await scratchDatabase('split')
  const upstream = await startEchoUpstream()
  const procs: TurnpikeProcess[] = []
  t.after(async () => {
    for (const p of procs) await p.stop('SIGKILL')
    await upstream.close()
    await db.drop()
  })

  const adminPort = await freePort()
  const clusterPort = await freePort()
  const mtls = await clusterCertEnv(tempDir('cert'))
  const cp = spawnTurnpike({
    TURNPIKE_ROLE: 'control_plane',
    TURNPIKE_DATABASE: 'postgres',
    TURNPIKE_PG_DATABASE: db.name,
    TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    TURNPIKE_CLUSTER_LISTEN: `127.0.0.1:${clusterPort}`,
    ...mtls,
    TURNPIKE_PREFIX: tempDir('cp'),
  })
  procs.push(cp)
  const admin = `http://127.0.0.1:${adminPort}`

  const dps: { proxy: string; status: string }[] = []
  for (let i = 0; i < 2; i++) {
    const proxyPort = await freePort()
    const statusPort = await freePort()
    procs.push(
      spawnTurnpike({
        TURNPIKE_ROLE: 'data_plane',
        TURNPIKE_CLUSTER_CONTROL_PLANE: `127.0.0.1:${clusterPort}`,
        ...mtls,
        TURNPIKE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
        TURNPIKE_STATUS_LISTEN: `127.0.0.1:${statusPort}`,
        TURNPIKE_PREFIX: tempDir(`dp${i}`),
      }),
    )
    dps.push({ proxy: `http://127.0.0.1:${proxyPort}`, status: `http://127.0.0.1:${statusPort}` })
  }

  const output = () => procs.map((p, i) => `--- process ${i}\n${p.output()}`).join('\n')
  try {
    await waitFor('admin API', async () => (await get(`${admin}/`)).status === 200)
    for (const dp of dps)
      await waitFor('data plane ready', async () => (await get(`${dp.status}/status/ready`)).status === 200)

    const svc = await sendForm('POST', `${admin}/services`, { name: 'example-service', url: `${upstream.url}/base` })
    assert.equal(svc.status, 201, svc.text)
    const route = await sendForm('POST', `${admin}/services/example-service/routes`, { name: 'mock', paths: ['/mock'] })
    assert.equal(route.status, 201, route.text)

    for (const dp of dps) {
      const r = await waitFor('route served by the data plane', async () => {
        const res = await get(`${dp.proxy}/mock/hello?x=1`)
        return res.status === 200 ? res : undefined
      })
      assert.equal(r.json.url, '/base/hello?x=1')
      assert.match(String((r.json.headers as Record<string, string>)['x-forwarded-for']), /127\.0\.0\.1/)
    }

    const planes = await waitFor('both data planes listed in sync', async () => {
      const res = await get(`${admin}/clustering/data-planes`)
      const data = (res.json.data ?? []) as Record<string, unknown>[]
      return data.length === 2 && data.every((d) => d.sync_status === 'normal') ? data : undefined
    })
    for (const dp of planes)
      assert.ok((dp.cert_details as { expiry_timestamp: number }).expiry_timestamp > Date.now() / 1000)

    const patched = await sendForm('PATCH', `${admin}/routes/mock`, { paths: ['/v2'] })
    assert.equal(patched.status, 200, patched.text)
    for (const dp of dps) {
      await waitFor('route change followed', async () => (await get(`${dp.proxy}/v2/x`)).status === 200)
      const old = await get(`${dp.proxy}/mock/hello`)
      assert.equal(old.status, 404)
      assert.deepEqual(old.json, { message: 'no Route matched with those values' })
    }

    await cp.stop('SIGKILL')
    for (const dp of dps) {
      const r = await get(`${dp.proxy}/v2/still`)
      assert.equal(r.status, 200)
      assert.equal(r.json.url, '/base/still')
      assert.equal((await get(`${dp.status}/status/ready`)).status, 200)
    }
  } catch (e) {
    t.diagnostic(output())
    throw e
  }
})

if (missing) test(`split mode needs Postgres: ${missing}`, { skip: missing }, () => {})
