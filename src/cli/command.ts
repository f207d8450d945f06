// The shape of every command file, after GitHub CLI's NewCmdX(f, runF): `registerX(program, ctx, run)` adds
// the command to the program; its action gathers what commander parsed into the command's named options
// type (`XOptions`) and calls `run(ctx, options)`. main passes the real run functions (`xCommand`); the
// parse tests (test/unit/cli-parse.test.ts) pass ones that only record the options.
import type { ClientContext } from '../client/context.js'

/** Runs a command with its parsed options; resolves with the exit code. */
export type RunCommand<O> = (ctx: ClientContext, options: O) => Promise<number>
