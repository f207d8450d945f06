// node:child_process, loaded when a program is first run: loading it up front cost every jitssh command ~3 ms
// (the CLI bundle's top level), and most commands, ssh-gen's cold path among them, never run one.
export const childProcess = (): typeof import('node:child_process') => process.getBuiltinModule('node:child_process') as typeof import('node:child_process')
