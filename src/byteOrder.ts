/** Byte-order string comparison: the same on every machine, whatever its locale. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
