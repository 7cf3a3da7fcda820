/**
 * Values: a cell's value <-> the JSON value of the contract, in the spreadsheet's time zone.
 *
 * Sheet -> JSON: empty -> null; numbers and booleans as they are; a date-only cell ->
 * "yyyy-MM-dd", a time-only cell -> "HH:mm:ss", any other date -> RFC 3339 with the
 * spreadsheet's offset ("2026-11-25T16:01:09.123+01:00"), so no date is shifted by a day.
 * Text columns send strings whatever Sheets holds (plain-text format keeps "007").
 * JSON -> sheet: strings of a date/datetime/time column become dates (DATETIME text without an
 * offset is UTC, as the server stores it); in other columns a string that Sheets would
 * reinterpret (a number, a date, TRUE, a formula) is written into a plain-text cell.
 * Pure functions apart from Utilities.formatDate.
 */

const TEXT_FORMAT = '@';
const KIND_FORMATS = {
  text: TEXT_FORMAT,
  date: 'yyyy-mm-dd',
  datetime: 'yyyy-mm-dd hh:mm:ss',
  time: 'hh:mm:ss',
};
const RE_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RE_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/i;
const RE_TIME = /^(-?)(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Returns whether `v` is a Date (also one made in another realm). */
function isDate_(/** @type {*} */ v) {
  return Object.prototype.toString.call(v) === '[object Date]';
}

/** Returns the lower-case UUID in `v`, or '' when it is not one. */
function normalizeUuid_(/** @type {*} */ v) {
  const s = typeof v === 'string' ? v.trim() : '';
  return UUID_RE.test(s) ? s.toLowerCase() : '';
}

/** Returns the JSON value of a cell. `format` is the cell's number format. */
function cellToJson_(/** @type {*} */ value, /** @type {string} */ kind, /** @type {string} */ format, /** @type {string} */ tz) {
  if (value === '' || value === null || value === undefined) return null;
  if (isDate_(value)) return dateToJson_(/** @type {Date} */ (value), kind, format, tz);
  if (kind === 'text') {
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    return String(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** Returns a date cell as "yyyy-MM-dd", "HH:mm:ss[.SSS]" or RFC 3339 with offset. */
function dateToJson_(/** @type {Date} */ d, /** @type {string} */ kind, /** @type {string} */ format, /** @type {string} */ tz) {
  const parts = formatParts_(format);
  const ms = Utilities.formatDate(d, tz, 'SSS');
  if (kind === 'date' || (kind !== 'datetime' && kind !== 'time' && parts.date && !parts.time)) {
    return Utilities.formatDate(d, tz, 'yyyy-MM-dd');
  }
  if (kind === 'time' || (kind !== 'datetime' && parts.time && !parts.date)) {
    return Utilities.formatDate(d, tz, 'HH:mm:ss') + (ms === '000' ? '' : '.' + ms);
  }
  return Utilities.formatDate(d, tz, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
}

/** Returns which fields a Sheets number format shows: {date, time}. */
function formatParts_(/** @type {string} */ format) {
  const f = String(format || '').replace(/"[^"]*"|\\./g, '').toLowerCase();
  return { date: /[dy]/.test(f), time: /[hs]|am\/pm|a\/p/.test(f) };
}

/**
 * Returns what to write into a cell for a JSON value: {value, format}; format is null when the
 * cell's current format can stay.
 */
function jsonToCell_(/** @type {*} */ json, /** @type {string} */ kind, /** @type {string} */ tz) {
  if (json === null || json === undefined) return { value: '', format: null };
  if (typeof json === 'object') json = JSON.stringify(json);  // {"base64": …} or a JSON column
  if (kind === 'text') return { value: String(json), format: TEXT_FORMAT };
  if (typeof json === 'string') {
    const d = kind === 'date' || kind === 'datetime' || kind === 'time' ? parseTemporal_(json, kind, tz) : null;
    if (d) return { value: d, format: KIND_FORMATS[kind] };
    return { value: json, format: sheetsWouldParse_(json) ? TEXT_FORMAT : null };
  }
  return { value: json, format: null };
}

/** Returns what a cell of a `kind` column reads back as (cellToJson_) once the JSON value is
 *  written into it (jsonToCell_). */
function shownJson_(/** @type {*} */ json, /** @type {string} */ kind, /** @type {string} */ tz) {
  const cell = jsonToCell_(json, kind, tz);
  return cellToJson_(cell.value, kind, cell.format || '', tz);
}

/**
 * Returns whether a date cell holds the instant of a server date/time text, to the millisecond
 * a cell holds ("2026-11-25 15:01:09.123456" is UTC; the cell shows it in the sheet's zone).
 */
function sameInstant_(/** @type {*} */ value, /** @type {*} */ json, /** @type {string} */ kind, /** @type {string} */ tz) {
  if (kind === 'text' || !isDate_(value) || typeof json !== 'string') return false;
  const d = parseTemporal_(json, 'time', tz);
  return !!d && d.getTime() === value.getTime();
}

/** Returns whether Sheets would turn this string into something else than text. */
function sheetsWouldParse_(/** @type {string} */ s) {
  const t = s.trim();
  return t !== s || /^[=+'@]/.test(s) || /^-?[\d.,]+(e[+-]?\d+)?%?$/i.test(t) ||
      /^(true|false)$/i.test(t) || RE_DATE.test(t) || RE_DATETIME.test(t) || RE_TIME.test(t) ||
      /^\d{1,2}[/.-]\d{1,2}([/.-]\d{2,4})?$/.test(t) || /^\$/.test(t);
}

/** Returns the Date for a server temporal string of a `kind` column, or null. */
function parseTemporal_(/** @type {string} */ s, /** @type {string} */ kind, /** @type {string} */ tz) {
  let m = RE_DATE.exec(s);
  if (m) return wallTimeToDate_([+m[1], +m[2], +m[3], 0, 0, 0, 0], tz);
  m = RE_DATETIME.exec(s);
  if (m) {
    const ms = m[7] ? +(m[7] + '00').slice(0, 3) : 0;
    const f = [+m[1], +m[2], +m[3], +m[4], +m[5], +m[6], ms];
    const utc = Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5], f[6]);
    return new Date(utc - offsetOfSuffix_(m[8]));
  }
  m = RE_TIME.exec(s);
  if (m && kind === 'time') {
    const ms = m[5] ? +(m[5] + '00').slice(0, 3) : 0;
    return wallTimeToDate_([1899, 12, 30, +m[2], +m[3], +m[4], ms], tz);
  }
  return null;
}

/** Returns the offset in ms of "Z", "+01:00" or undefined (naive text is UTC). */
function offsetOfSuffix_(/** @type {string|undefined} */ suffix) {
  if (!suffix || suffix.toUpperCase() === 'Z') return 0;
  const sign = suffix[0] === '-' ? -1 : 1;
  return sign * (+suffix.slice(1, 3) * 60 + +suffix.slice(4, 6)) * 60000;
}

/** Returns the instant at wall time [y, mon, d, h, mi, s, ms] in time zone `tz`. */
function wallTimeToDate_(/** @type {number[]} */ f, /** @type {string} */ tz) {
  const wall = Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5], f[6]);
  let t = wall - tzOffsetMs_(new Date(wall), tz);
  t = wall - tzOffsetMs_(new Date(t), tz);  // again, in case a DST change lies in between
  return new Date(t);
}

/** Returns the offset of `tz` from UTC at instant `d`, in ms — from the wall-clock fields, so
 *  that offsets with seconds (local mean time before 1900, where Sheets keeps times) are exact. */
function tzOffsetMs_(/** @type {Date} */ d, /** @type {string} */ tz) {
  const f = Utilities.formatDate(d, tz, 'yyyy-MM-dd-HH-mm-ss-SSS').split('-').map(Number);
  return Date.UTC(f[0], f[1] - 1, f[2], f[3], f[4], f[5], f[6]) - d.getTime();
}

/** Returns whether two JSON values are the same cell content ("" and null both read as empty). */
function sameJson_(/** @type {*} */ a, /** @type {*} */ b) {
  const ea = a === null || a === undefined || a === '';
  const eb = b === null || b === undefined || b === '';
  if (ea || eb) return ea && eb;
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  if (typeof a === typeof b) return a === b;
  // A number and its own decimal text (an INT read back from a plain-text cell) are the same
  // value; "007" and 7 are not.
  if (typeof a === 'number' && typeof b === 'string') return String(a) === b;
  if (typeof b === 'number' && typeof a === 'string') return String(b) === a;
  return false;
}

/** Returns "time: now" as the contract's RFC 3339 UTC text with milliseconds. */
function isoNow_() {
  return new Date().toISOString();
}

/** Returns a short printable form of a JSON value for notes and the status sidebar. */
function displayJson_(/** @type {*} */ v) {
  if (v === null || v === undefined) return '(empty)';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 77) + '…' : s;
}
