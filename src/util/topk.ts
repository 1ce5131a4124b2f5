/** The k largest of v[o, o + n) into topVal/topIdx (indices relative to o), descending; equal values keep the earlier index first. */
export function topK(v: Float32Array, o: number, n: number, k: number, topVal: Float32Array, topIdx: Int32Array): void {
  // Insertion into a sorted top-k (kept in a sync function so V8 optimizes the loop): k is small, n can be large.
  let filled = 0;
  let threshold = -Infinity;
  for (let j = o, end = o + n; j < end; j++) {
    const s = v[j];
    if (s <= threshold) continue;
    let p = filled < k ? filled++ : k - 1;
    while (p > 0 && topVal[p - 1] < s) {
      topVal[p] = topVal[p - 1];
      topIdx[p] = topIdx[p - 1];
      p--;
    }
    topVal[p] = s;
    topIdx[p] = j - o;
    if (filled === k) threshold = topVal[k - 1];
  }
}
