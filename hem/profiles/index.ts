/** Seeded home PV and load profiles, and the loader for metered CSV data. */
export { createRng, mulberry32, deriveSeed, type Rng } from './rng.js';
export {
  parseDate, formatDate, formatLabel, dayOfYear, weekday, isWeekend, isDst, epochDay, fromEpochDay, type DstRule, type YMD,
} from './calendar.js';
export {
  declination, equationOfTimeMin, extraterrestrialWm2, solarTimeHours, sunVector, haurwitzGhi, erbsDiffuseFraction,
  planeOfArrayWm2, type SunVector, type PanelOrientation,
} from './solarGeometry.js';
export { pvMinutes, dayClearness, normalCdf, type PvParams } from './pvModel.js';
export { loadMinutes, bumpsAt, type LoadParams, type Appliance, type Bump, type TimeWindow } from './loadModel.js';
export {
  SYDNEY, checkPeriod, checkSite, minutesToIntervalWh, type ProfileSeries, type SiteParams, type PeriodParams,
} from './profileSeries.js';
export {
  generateProfile, intervalLabels, DEFAULT_PV_PARAMS, DEFAULT_LOAD_PARAMS, DEFAULT_APPLIANCES, type ProfileOptions,
} from './generateProfile.js';
export { parseAusgridCsv, loadAusgridCsv, kwToIntervalWh, MAX_CSV_BYTES } from './ausgridCsv.js';
export { profileStats, correlation, compareProfiles, type ProfileStats, type ProfileComparison } from './profileStats.js';
