// ssh_config text: host-name validation, command-line quoting, and jitssh's managed block (render,
// insert/replace, remove). Pure text in, text out; no file I/O. The one public entry for this area.
export { type HostSpec, type HostSpecOptions, parseHostSpec, hostMatchesPattern } from './host-spec.js'
export { type Platform, quoteArg, escapeSshPercent } from './command-quoting.js'
export { type ManagedBlockInput, type Eol, renderManagedBlock, checkServerUrl } from './managed-block-render.js'
export { type AgentConfigInput, renderAgentSshConfig } from './agent-config-render.js'
export { type BlockPrograms, readBlockPrograms, repointBlockPrograms } from './managed-block-program.js'
export {
  type ManagedBlockLocation,
  upsertManagedBlock,
  removeManagedBlock,
  findManagedBlocks,
  detectEol,
} from './managed-block-edit.js'
export { splitLikeArgvSplit, splitLikeStrdelim } from './ssh-config-tokenizers.js'
