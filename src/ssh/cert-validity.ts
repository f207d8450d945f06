// CONTRACT STUB — to be implemented (issue 2). Imports nothing: it is on the ssh-gen fast path.

/**
 * The `valid_before` (Unix seconds) of a `*-cert.pub` file's text, without verifying anything,
 * or null when the text is not a certificate we can read. Cheap: base64 of one line and a few length skips.
 */
export declare function readValidBefore(text: string): number | null
