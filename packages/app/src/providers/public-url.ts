/** Our public base URL without a trailing slash (given as a value, or read when it is needed). */
export function publicBase(u: string | (() => string)): string {
  return (typeof u === 'function' ? u() : u).replace(/\/$/, '');
}
