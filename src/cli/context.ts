/**
 * What every command is handed instead of reading `process.env` itself (main.ts is the one place
 * that reads the environment): the variables the CLI honours, and the three standard streams.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliEnv {
  /** COFFER_URL: the server, overriding the session file's. */
  url?: string;
  /** COFFER_TOKEN: an access token for scripts, used as it is (never refreshed nor saved). */
  token?: string;
  /** COFFER_PASSWORD: the password for `login` and the password commands. */
  password?: string;
  /** $XDG_CONFIG_HOME, else ~/.config: where coffer/session.json lives. */
  configHome: string;
  /** COFFER_DEBUG: errors print their stack trace. */
  debug: boolean;
}

export interface CliContext {
  env: CliEnv;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}
