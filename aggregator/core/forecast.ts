/**
 * Day-ahead forecast of the VPP's aggregated net load (consumption − production, Wh per
 * interval). Pure.
 *
 * Method "seasonal mean": the forecast for slot k of the next day is the mean of slot k
 * over the last `days` days of history that have it (same weekday weighted `weekdayWeight`
 * times, capturing weekly shape). With no history for a slot, the prior (e.g. a
 * profile-based expectation) is used. Integers: floor of the weighted mean.
 */
export interface ForecastOptions {
  /** intervals per day, e.g. 96 for 15 min */
  slotsPerDay: number;
  /** how many past days to average (default 7) */
  days?: number;
  /** weight of the same weekday one week before (default 2) */
  weekdayWeight?: number;
}

/**
 * history[d][k] = net load of slot k on day d, oldest first (undefined = missing).
 * targetWeekday and the weekday of each history day are given as numbers 0..6.
 */
export function seasonalMeanForecast(
  history: readonly (readonly (number | undefined)[])[],
  historyWeekdays: readonly number[],
  targetWeekday: number,
  prior: readonly number[],
  opts: ForecastOptions,
): number[] {
  const days = opts.days ?? 7;
  const wWeek = opts.weekdayWeight ?? 2;
  if (prior.length !== opts.slotsPerDay) throw new Error(`BAD_PRIOR length=${prior.length} expected=${opts.slotsPerDay}`);
  const recent = history.slice(-days);
  const weekdays = historyWeekdays.slice(-days);
  const out: number[] = [];
  for (let k = 0; k < opts.slotsPerDay; k++) {
    let num = 0;
    let den = 0;
    recent.forEach((day, i) => {
      const v = day[k];
      if (v === undefined) return;
      const w = weekdays[i] === targetWeekday ? wWeek : 1;
      num += w * v;
      den += w;
    });
    out.push(den === 0 ? prior[k]! : Math.floor(num / den));
  }
  return out;
}

/** Seasonal naive: yesterday's value of each slot, else the prior. */
export function seasonalNaiveForecast(history: readonly (readonly (number | undefined)[])[], prior: readonly number[]): number[] {
  const last = history[history.length - 1];
  return prior.map((p, k) => last?.[k] ?? p);
}

/** Mean absolute error and bias of a forecast against actuals (for reports). */
export function forecastError(forecast: readonly number[], actual: readonly (number | undefined)[]): { maeWh: number; biasWh: number; n: number } {
  let abs = 0;
  let bias = 0;
  let n = 0;
  forecast.forEach((f, k) => {
    const a = actual[k];
    if (a === undefined) return;
    abs += Math.abs(a - f);
    bias += a - f;
    n++;
  });
  return n === 0 ? { maeWh: 0, biasWh: 0, n } : { maeWh: Math.round(abs / n), biasWh: Math.round(bias / n), n };
}
