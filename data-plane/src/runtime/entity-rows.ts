/** The snapshot's services and routes as the data plane reads them: validated, defaults filled, references resolved. */

export interface ServiceRow {
  id: string
  name: string | null
  protocol: string
  host: string
  port: number
  path: string | null
  retries: number
  connect_timeout: number
  read_timeout: number
  write_timeout: number
  tls_verify: boolean | null
  enabled: boolean
}

export interface RouteRow {
  id: string
  name: string | null
  protocols: string[]
  methods: string[] | null
  hosts: string[] | null
  paths: string[] | null
  headers: Record<string, string[]> | null
  snis: string[] | null
  regex_priority: number
  strip_path: boolean
  preserve_host: boolean
  path_handling: string
  https_redirect_status_code: number
  created_at: number
  service_id: string | null
}

export interface ConfigRows {
  services: ServiceRow[]
  routes: RouteRow[]
}
