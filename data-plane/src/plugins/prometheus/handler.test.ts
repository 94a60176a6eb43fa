import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { resetMetrics } from './metrics.ts'

describe('prometheus', () => {
  let h: Harness
  before(async () => {
    resetMetrics()
    h = await startHarness()
    const route = routeRow(h.serviceId, { name: 'metered', paths: ['/m'] })
    await h.publish({
      routes: [route],
      plugins: [
        row('plugins', {
          name: 'prometheus',
          config: { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true },
        }),
      ],
    })
  })
  after(() => h.close())

  it('exposes Kong-named series on the status listener, including 404s', async () => {
    await h.call('/m/a')
    await h.call('/m/status/500')
    await h.call('/nowhere')
    let text = ''
    for (let i = 0; i < 50 && !text.includes('code="404"'); i++) {
      text = await (await fetch(`${h.dp.statusUrl}/metrics`)).text()
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.match(
      text,
      /kong_http_requests_total\{service="echo",route="metered",code="200",source="service",workspace="default",consumer=""\} 1/,
    )
    assert.match(text, /kong_http_requests_total\{service="echo",route="metered",code="500",source="service"/)
    assert.match(text, /kong_http_requests_total\{service="",route="",code="404",source="kong"/)
    assert.match(
      text,
      /kong_request_latency_ms_bucket\{service="echo",route="metered",workspace="default",le="\+Inf"\} 2/,
    )
    assert.match(text, /kong_upstream_latency_ms_count/)
    assert.match(
      text,
      /kong_bandwidth_bytes\{service="echo",route="metered",workspace="default",consumer="",direction="egress"\} \d+/,
    )
    assert.match(text, /kong_nginx_requests_total \d+/)
  })
})
