/** Baseline: nginx `proxy_pass`, one worker, keep-alive to the upstream, run in the foreground from a temp config. */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Child, freePort, hasCommand, spawnChild, waitForPort } from '../lib/processes.ts'

/** The nginx binary, or undefined when it is not installed. */
export function findNginx(): string | undefined {
  if (hasCommand('nginx')) return 'nginx'
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p))
}

export function nginxVersion(bin: string): string {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' })
  return (r.stderr || r.stdout).trim().replace(/^nginx version: /, '')
}

/**
 * The measurement rules' nginx: upstream keepalive + HTTP/1.1 + cleared Connection header (without them nginx
 * opens a connection per request and runs several times slower), access log off, buffers big enough that a
 * 64 KiB body never spills to a temp file, and no per-connection request cap on either side.
 */
export function nginxConfig(dir: string, listenPort: number, upstreamPort: number): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events {
  worker_connections 8192;
}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
    }
  }
}
`
}

export interface NginxTarget {
  child: Child
  url: string
  version: string
}

/** Writes the config under a temp dir and runs `nginx -c … -g 'daemon off;'` as a tracked child. */
export async function startNginx(bin: string, upstreamPort: number): Promise<NginxTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-bench-nginx-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig(dir, port, upstreamPort))
  const child = spawnChild('nginx', bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'])
  child.proc.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  try {
    await Promise.race([
      waitForPort(port),
      new Promise((_, reject) =>
        child.proc.once('exit', (code) => reject(new Error(`nginx exited (${code}): ${child.output()}`))),
      ),
    ])
  } catch (e) {
    await child.stop()
    throw e
  }
  return { child, url: `http://127.0.0.1:${port}`, version: nginxVersion(bin) }
}
