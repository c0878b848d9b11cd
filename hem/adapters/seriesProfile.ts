/**
 * An EnergyProfile over a ProfileSeries (hem/profiles: the seeded generator or a CSV of
 * metered data). The series repeats with its own length; inside one of its intervals the
 * energy is spread evenly. Home time is read as the series' local clock, i.e. the label
 * 'YYYY-MM-DDTHH:MM' of interval k is home time Date.parse(label + 'Z').
 */
import type { ProfileSeries } from '../profiles/profileSeries.js';
import type { EnergyProfile } from './simHome.js';

export function seriesProfile(s: ProfileSeries): EnergyProfile {
  const n = s.pvWh.length;
  if (n === 0 || s.loadWh.length !== n || !s.times[0]) throw new RangeError('BAD_PROFILE empty or uneven series');
  const stepMs = s.intervalMinutes * 60_000;
  const t0 = Date.parse(s.times[0] + 'Z');
  const total = n * stepMs;

  return {
    energyWh(a: number, b: number) {
      let pvWh = 0;
      let loadWh = 0;
      if (!(b > a)) return { pvWh, loadWh };
      // walk the profile intervals that [a, b) covers, wrapping around the series
      let t = a;
      let guard = 0;
      while (t < b && guard++ < 1_000_000) {
        const pos = (((t - t0) % total) + total) % total;
        const k = Math.floor(pos / stepMs);
        const kEnd = t + (stepMs - (pos - k * stepMs));
        const end = Math.min(b, kEnd);
        const f = (end - t) / stepMs;
        pvWh += (s.pvWh[k] ?? 0) * f;
        loadWh += (s.loadWh[k] ?? 0) * f;
        t = end;
      }
      return { pvWh, loadWh };
    },
  };
}
