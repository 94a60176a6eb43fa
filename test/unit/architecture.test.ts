/** The dependency rule of design.md §4: proto ← shared ← {control-plane, data-plane} ← {test, bench}. */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Which workspace packages each package may import. */
const ALLOWED: Record<string, string[]> = {
  proto: [],
  shared: ['proto'],
  'control-plane': ['shared', 'proto'],
  'data-plane': ['shared', 'proto'],
  test: ['shared', 'proto', 'control-plane', 'data-plane'],
  bench: ['shared', 'proto', 'control-plane', 'data-plane'],
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every forbidden edge in the tree: "file imports specifier". */
export function forbiddenImports(): string[] {
  const problems: string[] = []
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    const dir = join(ROOT, pkg)
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? ''
        const where = relative(ROOT, file)
        const workspace = /^@turnpike\/([^/]+)/.exec(spec)?.[1]
        if (workspace && workspace !== pkg && !allowed.includes(workspace)) problems.push(`${where} imports ${spec}`)
        if (workspace && spec !== `@turnpike/${workspace}` && !spec.startsWith(`@turnpike/${workspace}/`))
          problems.push(`${where} imports ${spec}`)
        if (spec.startsWith('.')) {
          const target = relative(dir, join(file, '..', spec))
          if (target.startsWith('..')) problems.push(`${where} reaches outside its package with ${spec}`)
        }
      }
    }
  }
  return problems
}

test('packages import only what the dependency rule allows', () => {
  assert.deepEqual(forbiddenImports(), [])
})

test('package.json dependencies follow the same rule', () => {
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    const manifest = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8'))
    const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    const workspaces = deps.filter((d) => d.startsWith('@turnpike/')).map((d) => d.slice('@turnpike/'.length))
    for (const w of workspaces) assert.ok(allowed.includes(w), `${pkg} depends on @turnpike/${w}`)
  }
})
