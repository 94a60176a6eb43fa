/** deploy/ cannot run here (no Docker engine), so it is validated: YAML parses, settings are real, HAProxy configs check. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loadSettings } from '@turnpike/shared'
import { parseAllDocuments } from 'yaml'

const DEPLOY = fileURLToPath(new URL('../../deploy', import.meta.url))

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => join(dir, f))
}

/** Every group of TURNPIKE_* variables one container (or secret) would see. */
function envGroups(node: unknown, out: Record<string, string>[] = []): Record<string, string>[] {
  if (Array.isArray(node)) {
    const pairs = node.filter((e) => e && typeof e === 'object' && 'name' in e && 'value' in e)
    if (pairs.length) out.push(Object.fromEntries(pairs.map((e) => [e.name, String(e.value)])))
    for (const e of node) envGroups(e, out)
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'environment' || k === 'stringData') && v && typeof v === 'object' && !Array.isArray(v))
        out.push(Object.fromEntries(Object.entries(v).map(([n, x]) => [n, String(x)])))
      else envGroups(v, out)
    }
  }
  return out
}

test('every deploy manifest parses and uses only real settings with valid values', () => {
  const yamlFiles = files(DEPLOY, /\.ya?ml$/)
  assert.ok(yamlFiles.length >= 4)
  for (const file of yamlFiles) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'))
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.join('; ')}`)
      for (const group of envGroups(doc.toJS({ merge: true }))) {
        const env = Object.fromEntries(Object.entries(group).filter(([k]) => k.startsWith('TURNPIKE_')))
        if (Object.keys(env).length === 0) continue
        assert.doesNotThrow(() => loadSettings({ env }), `${file}: ${JSON.stringify(env)}`)
      }
    }
  }
})

test('HAProxy configs pass haproxy -c', (t) => {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' })
  } catch {
    t.skip('haproxy is not installed (apt-get install haproxy); configs were not checked')
    return
  }
  for (const file of files(DEPLOY, /\.cfg$/)) {
    // Compose service names do not resolve here; check syntax with resolution deferred.
    const text = readFileSync(file, 'utf8').replace(/ (\w+):(\d+) check/g, ' 127.0.0.1:$2 check')
    const tmp = join(process.env.TMPDIR ?? '/tmp', `turnpike-haproxy-${process.pid}.cfg`)
    execFileSync('sh', ['-c', `cat > ${tmp}`], { input: text })
    execFileSync('haproxy', ['-c', '-f', tmp], { stdio: 'pipe' })
  }
})
