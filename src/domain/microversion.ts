/** Compares two `X.Y` compute microversions numerically (`2.9` < `2.14`). Pure. */
export function compareMicroversions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
