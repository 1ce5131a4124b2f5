/** x to 3 decimals: seconds and rates in records and sidecars. */
export const round3 = (x: number) => Math.round(x * 1000) / 1000;
