// "Did you mean": the known spelling closest to a mistyped key.

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** The candidate within 2 edits of key (placeholders like NAME match any segment), or null. */
export function closest(key: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const c of candidates) {
    // Put the key's own segment where the candidate has NAME, so check.web.comand -> check.web.command.
    const keyParts = key.split('.');
    const concrete = c.split('.').map((p, i) => (p === 'NAME' && keyParts[i] ? keyParts[i] : p)).join('.');
    const d = distance(key, concrete);
    if (d < bestD) {
      best = concrete;
      bestD = d;
    }
  }
  return best;
}
