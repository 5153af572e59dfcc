/** The one rule for usernames, shared by the API, the configuration and the CLI. */

const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

export const USERNAME_RULE = '1-64 characters of A-Z a-z 0-9 . _ - (and not "." or "..")';

export function isValidUsername(name: unknown): name is string {
  return typeof name === 'string' && USERNAME.test(name) && name !== '.' && name !== '..';
}

/** Names of 40 hex digits are P-256 addresses: only the holder of that key may be that user. */
export function isAddressName(name: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(name);
}
