// Number formatting for the page: sizes, counts and durations, always with their unit.

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function formatBytes(n) {
    if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
    if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
    if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${n} B`;
}

export function formatGiB(n) {
    return `${(n / GiB).toFixed(n < 0.1 * GiB ? 4 : 2)} GiB`;
}

export function formatInt(n) {
    return Number(n).toLocaleString('en-US');
}

// Parameter counts the way model cards write them: 8.03B, 377M, 4.1M.
export function formatParams(n) {
    if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
    return String(n);
}

// Token counts in a table cell: 4,096 · 131K · 4.19M.
export function formatTokens(n) {
    if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
    if (n >= 1e5) return `${Math.round(n / 1e3)}K`;
    return formatInt(n);
}

export function formatDuration(seconds) {
    if (!isFinite(seconds) || seconds < 0) return '–';
    if (seconds < 10) return `${seconds.toFixed(1)} s`;
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export { GiB, MiB };
