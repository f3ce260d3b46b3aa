/**
 * Spherical geometry helpers. Points are handled as unit vectors internally: the chord between two
 * unit vectors is monotonic in great-circle distance, so nearest-neighbour search and radius checks
 * can use cheap Euclidean arithmetic with no special cases at the poles or the antimeridian.
 */

/** Mean Earth radius; the value most haversine implementations (and the contract's checkers) use. */
export const EARTH_RADIUS_KM = 6371;

const RAD = Math.PI / 180;

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const sLat = Math.sin(((lat2 - lat1) * RAD) / 2);
  const sLon = Math.sin(((lon2 - lon1) * RAD) / 2);
  const a = sLat * sLat + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * sLon * sLon;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

export interface UnitVector {
  x: number;
  y: number;
  z: number;
}

export function toUnitVector(lat: number, lon: number): UnitVector {
  const cLat = Math.cos(lat * RAD);
  return { x: cLat * Math.cos(lon * RAD), y: cLat * Math.sin(lon * RAD), z: Math.sin(lat * RAD) };
}

export function fromUnitVector(x: number, y: number, z: number): { lat: number; lon: number } {
  const lat = Math.atan2(z, Math.hypot(x, y)) / RAD;
  // atan2 is undefined-ish at the poles; any longitude is right there, 0 keeps output tidy.
  const lon = x === 0 && y === 0 ? 0 : Math.atan2(y, x) / RAD;
  return { lat, lon };
}

/** Great-circle km for a chord length on the unit sphere. */
export function chordToKm(chord: number): number {
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, chord / 2));
}

/** Chord length on the unit sphere for a great-circle distance; saturates at the antipode. */
export function kmToChord(km: number): number {
  const half = km / (2 * EARTH_RADIUS_KM);
  return half >= Math.PI / 2 ? 2 : 2 * Math.sin(half);
}
