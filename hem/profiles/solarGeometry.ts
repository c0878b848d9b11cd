/**
 * Solar geometry and clear-sky irradiance.
 *
 * Declination, equation of time and extraterrestrial irradiance: Spencer (1971) Fourier
 * series in the day angle B = 2π(n − 1)/365. Sun position from latitude φ, declination δ
 * and hour angle ω (15° per hour from solar noon, positive in the afternoon):
 *   cos θz = sin φ sin δ + cos φ cos δ cos ω
 * Clear-sky global horizontal irradiance: Haurwitz (1945), GHI = 1098 cos θz e^(−0.057/cos θz) W/m².
 * Diffuse fraction from the clearness index kt = GHI/(I0 cos θz): Erbs et al. (1982).
 * Plane of array: beam on the tilted plane + isotropic sky diffuse (Liu–Jordan) + ground reflection.
 */

const DEG = Math.PI / 180;

function dayAngle(doy: number): number {
  return (2 * Math.PI * (doy - 1)) / 365;
}

/** δ in radians. */
export function declination(doy: number): number {
  const b = dayAngle(doy);
  return (
    0.006918 - 0.399912 * Math.cos(b) + 0.070257 * Math.sin(b) - 0.006758 * Math.cos(2 * b) +
    0.000907 * Math.sin(2 * b) - 0.002697 * Math.cos(3 * b) + 0.00148 * Math.sin(3 * b)
  );
}

/** Equation of time in minutes (apparent − mean solar time). */
export function equationOfTimeMin(doy: number): number {
  const b = dayAngle(doy);
  return 229.18 * (0.000075 + 0.001868 * Math.cos(b) - 0.032077 * Math.sin(b) - 0.014615 * Math.cos(2 * b) - 0.04089 * Math.sin(2 * b));
}

/** Extraterrestrial normal irradiance I0, W/m². */
export function extraterrestrialWm2(doy: number): number {
  const b = dayAngle(doy);
  return 1367 * (1.00011 + 0.034221 * Math.cos(b) + 0.00128 * Math.sin(b) + 0.000719 * Math.cos(2 * b) + 0.000077 * Math.sin(2 * b));
}

/**
 * Solar time (hours) at a local standard clock time: standard + 4 min/° × (λ − 15°·UTC offset) + EoT.
 */
export function solarTimeHours(standardHours: number, doy: number, longitudeDeg: number, utcOffsetHours: number): number {
  return standardHours + (4 * (longitudeDeg - 15 * utcOffsetHours) + equationOfTimeMin(doy)) / 60;
}

/** Unit vector to the sun in local east/north/up coordinates. */
export interface SunVector {
  east: number;
  north: number;
  up: number;
}

export function sunVector(latitudeDeg: number, doy: number, solarHours: number): SunVector {
  const phi = latitudeDeg * DEG;
  const dec = declination(doy);
  const omega = (solarHours - 12) * 15 * DEG;
  return {
    east: -Math.cos(dec) * Math.sin(omega),
    north: Math.sin(dec) * Math.cos(phi) - Math.cos(dec) * Math.cos(omega) * Math.sin(phi),
    up: Math.sin(phi) * Math.sin(dec) + Math.cos(phi) * Math.cos(dec) * Math.cos(omega),
  };
}

/** Haurwitz clear-sky GHI (W/m²) for cos θz; 0 when the sun is down. */
export function haurwitzGhi(cosZenith: number): number {
  return cosZenith <= 0 ? 0 : 1098 * cosZenith * Math.exp(-0.057 / cosZenith);
}

/** Erbs diffuse fraction DHI/GHI for a clearness index kt. */
export function erbsDiffuseFraction(kt: number): number {
  if (kt <= 0.22) return 1 - 0.09 * kt;
  if (kt <= 0.8) return 0.9511 - 0.1604 * kt + 4.388 * kt ** 2 - 16.638 * kt ** 3 + 12.336 * kt ** 4;
  return 0.165;
}

export interface PanelOrientation {
  /** tilt from horizontal, degrees (0 = flat) */
  tiltDeg: number;
  /** azimuth the panel faces, degrees clockwise from north (0 = N, 90 = E, 180 = S, 270 = W) */
  azimuthDeg: number;
  /** ground reflectance (albedo) */
  albedo: number;
}

/**
 * Plane-of-array irradiance (W/m²) from GHI and the sun position: GHI is split into
 * beam and diffuse with Erbs, the beam projected on the panel, the diffuse taken as
 * isotropic, plus ground reflection.
 */
export function planeOfArrayWm2(ghi: number, sun: SunVector, doy: number, panel: PanelOrientation): number {
  const cosZ = sun.up;
  if (cosZ <= 0 || ghi <= 0) return 0;
  const beta = panel.tiltDeg * DEG;
  const gamma = panel.azimuthDeg * DEG;
  const kt = Math.min(1, ghi / (extraterrestrialWm2(doy) * cosZ));
  const dhi = ghi * erbsDiffuseFraction(kt);
  // beam on the horizontal = GHI − DHI; on the panel, scale by cos θi / cos θz (kept finite at low sun)
  const cosI = Math.sin(beta) * Math.sin(gamma) * sun.east + Math.sin(beta) * Math.cos(gamma) * sun.north + Math.cos(beta) * sun.up;
  const beam = cosI > 0 ? ((ghi - dhi) * cosI) / Math.max(cosZ, 0.087) : 0; // 0.087 = cos 85°
  const sky = (dhi * (1 + Math.cos(beta))) / 2;
  const ground = (ghi * panel.albedo * (1 - Math.cos(beta))) / 2;
  return beam + sky + ground;
}
