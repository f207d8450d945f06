import { JitsshError } from '../../shared/errors.js'

/** A tunnel opened by a process another took for dead (its reaper closed what it had): refused, in both dialects. */
export function reapedError(replicaId: string): JitsshError {
  return new JitsshError('ERR_SERVER', `this server process (replica ${replicaId}) was taken for dead by another: it records no tunnel until it registers again`)
}
