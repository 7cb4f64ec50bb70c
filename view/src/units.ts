// Durations, sizes and ages as both faces print them.

/** 1234567 → "20m34s"; null → "n/a". */
export function human(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** Resident memory in a ps column: "812K", "1.5M"; null (not measured) → "-". */
export function memory(rss: number | null): string {
  if (rss === null) return '-';
  return rss >= 1 << 20 ? `${(rss / (1 << 20)).toFixed(1)}M` : `${Math.round(rss / 1024)}K`;
}

/** Bytes written: "12.0 KiB", "3.4 MiB". */
export function mib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** Time since an ISO instant, as human() says it; "-" for none. */
export function age(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  return human(Math.max(0, now - Date.parse(iso)));
}
