import { chordToKm, EARTH_RADIUS_KM, fromUnitVector, haversineKm, kmToChord, toUnitVector } from './geo.util';

describe('geo.util', () => {
  it('measures known distances', () => {
    // Amsterdam to Utrecht is about 35 km; a quarter meridian is pi/2 earth radii.
    expect(haversineKm(52.3676, 4.9041, 52.0907, 5.1214)).toBeCloseTo(34.4, 0);
    expect(haversineKm(0, 0, 90, 0)).toBeCloseTo((Math.PI / 2) * EARTH_RADIUS_KM, 6);
    expect(haversineKm(0, 179.9, 0, -179.9)).toBeCloseTo(22.24, 1);
  });

  it('round-trips unit vectors, including the poles', () => {
    for (const [lat, lon] of [[52.37, 4.89], [-33.9, 151.2], [0, -180 + 1e-9], [89.999, 12]]) {
      const v = toUnitVector(lat, lon);
      expect(Math.hypot(v.x, v.y, v.z)).toBeCloseTo(1, 12);
      const back = fromUnitVector(v.x, v.y, v.z);
      expect(haversineKm(lat, lon, back.lat, back.lon)).toBeLessThan(1e-9);
    }
    expect(fromUnitVector(0, 0, 1)).toEqual({ lat: 90, lon: 0 });
  });

  it('converts between chords and great-circle km consistently with haversine', () => {
    for (const km of [0.001, 1, 10, 500, 10_000, 20_000]) expect(chordToKm(kmToChord(km))).toBeCloseTo(km, 6);
    expect(kmToChord(25_000)).toBe(2);
    const a = toUnitVector(48.85, 2.35), b = toUnitVector(51.5, -0.12);
    const chord = Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z);
    expect(chordToKm(chord)).toBeCloseTo(haversineKm(48.85, 2.35, 51.5, -0.12), 6);
  });
});
