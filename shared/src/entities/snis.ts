import { defineEntity } from '../schema/define.ts'
import { wildcardHost } from './typedefs.ts'

/** Kong's `snis`: a server name (wildcards allowed) served with a certificate. */
export const snis = defineEntity({
  name: 'snis',
  admin_path: 'snis',
  endpoint_key: 'name',
  in_snapshot: true,
  fields: {
    name: { ...wildcardHost, required: true, unique: true },
    // Kong's certificates DAO removes a certificate's SNIs with it.
    certificate: { type: 'foreign', reference: 'certificates', required: true, on_delete: 'cascade' },
  },
})
