import { defineEntity } from '../schema/define.ts'
import { protocols } from './fields.ts'
import { httpProtocols, utf8Name } from './typedefs.ts'

/**
 * Kong's `plugins`: a plugin instance, global or scoped to a route, service and/or consumer.
 * `config` is checked against the plugin's own definition (plugins/validate.ts), not here.
 */
export const plugins = defineEntity({
  name: 'plugins',
  admin_path: 'plugins',
  endpoint_key: 'instance_name',
  in_snapshot: true,
  fields: {
    name: { type: 'string', required: true },
    instance_name: utf8Name,
    route: { type: 'foreign', reference: 'routes', on_delete: 'cascade' },
    service: { type: 'foreign', reference: 'services', on_delete: 'cascade' },
    consumer: { type: 'foreign', reference: 'consumers', on_delete: 'cascade' },
    config: { type: 'json', description: 'The plugin configuration; validated by the plugin definition.' },
    protocols: {
      type: 'set',
      required: true,
      default: [...httpProtocols],
      elements: { type: 'string', one_of: protocols },
    },
    enabled: { type: 'boolean', required: true, default: true },
  },
  // Kong's cache_key: one instance per plugin name and scope.
  unique_together: [['name', 'route', 'service', 'consumer']],
})
