// Time-zone arithmetic for the fakes: Utilities.formatDate (Java SimpleDateFormat patterns),
// wall-clock fields of an instant in a zone, and the instant of a wall-clock time in a zone.
// Uses the IANA database that ships with Node (Intl), as Apps Script uses Java's.
'use strict';

const partsFormatters = new Map();

/** Returns the wall-clock fields {y, M, d, H, m, s, S, dow} of epoch ms `t` in zone `tz`. */
function wallFields(t, tz) {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', era: 'short',
    });
    partsFormatters.set(tz, f);
  }
  const p = {};
  for (const part of f.formatToParts(new Date(t))) p[part.type] = part.value;
  let y = Number(p.year);
  if (p.era === 'BC' || p.era === 'B') y = 1 - y;
  const S = ((t % 1000) + 1000) % 1000;
  return { y, M: Number(p.month), d: Number(p.day), H: Number(p.hour) % 24, m: Number(p.minute), s: Number(p.second), S, dow: p.weekday };
}

/** Returns the offset of `tz` from UTC at instant `t`, in ms (seconds included, e.g. LMT). */
function offsetMs(t, tz) {
  const w = wallFields(t, tz);
  const asUtc = Date.UTC(w.y, w.M - 1, w.d, w.H, w.m, w.s, w.S);
  const utc = new Date(asUtc);
  if (w.y >= 0 && w.y < 100) utc.setUTCFullYear(w.y);
  return utc.getTime() - t;
}

/** Returns the instant (epoch ms) of a wall-clock time in `tz` (the earlier one in a DST fold). */
function wallToEpoch(y, M, d, H, m, s, S, tz) {
  const wall = Date.UTC(y, M - 1, d, H, m, s, S);
  let t = wall - offsetMs(wall, tz);
  t = wall - offsetMs(t, tz);
  return t;
}

const pad = (n, w) => String(Math.abs(n)).padStart(w, '0');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Formats an offset in minutes as Java does for X, XX, XXX and Z. */
function formatOffset(ms, letter, count) {
  const minutes = Math.trunc(ms / 60000);
  if (letter === 'X' && minutes === 0) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const h = pad(Math.trunc(Math.abs(minutes) / 60), 2);
  const m = pad(Math.abs(minutes) % 60, 2);
  if (letter === 'Z') return sign + h + m;
  if (count === 1) return sign + h + (m === '00' ? '' : m);
  return count === 2 ? sign + h + m : sign + h + ':' + m;
}

/** Utilities.formatDate(date, timeZone, pattern) with Java SimpleDateFormat letters. */
function formatDate(date, tz, pattern) {
  if (!date || typeof date.getTime !== 'function') throw new Error('Exception: Invalid argument: date');
  if (!tz) throw new Error('Exception: Invalid argument: timeZone');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch (err) {
    throw new Error(`Exception: Invalid argument: timeZone ${tz}`);
  }
  const t = date.getTime();
  const w = wallFields(t, tz);
  let out = '';
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === "'") {
      if (pattern[i + 1] === "'") { out += "'"; i += 2; continue; }
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`Exception: Invalid argument: pattern ${pattern}`);
        if (pattern[j] === "'" && pattern[j + 1] === "'") { out += "'"; j += 2; continue; }
        if (pattern[j] === "'") break;
        out += pattern[j++];
      }
      i = j + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) { out += c; i++; continue; }
    let n = 1;
    while (pattern[i + n] === c) n++;
    out += formatField(c, n, w, t, tz, pattern);
    i += n;
  }
  return out;
}

function formatField(c, n, w, t, tz, pattern) {
  switch (c) {
    case 'y': return n === 2 ? pad(w.y % 100, 2) : pad(w.y, n);
    case 'M': return n >= 4 ? MONTHS[w.M - 1] : n === 3 ? MONTHS[w.M - 1].slice(0, 3) : pad(w.M, n);
    case 'd': return pad(w.d, n);
    case 'H': return pad(w.H, n);
    case 'h': return pad(w.H % 12 === 0 ? 12 : w.H % 12, n);
    case 'm': return pad(w.m, n);
    case 's': return pad(w.s, n);
    case 'S': return pad(w.S, 3).slice(0, Math.max(n, 3)).padEnd(n, '0');
    case 'a': return w.H < 12 ? 'AM' : 'PM';
    case 'E': return w.dow;
    case 'X': case 'Z': return formatOffset(offsetMs(t, tz), c, n);
    default: throw new Error(`Exception: Invalid argument: pattern ${pattern} (letter ${c} is not supported by the harness)`);
  }
}

/** Converts a Sheets number format ("yyyy-mm-dd hh:mm:ss") to a SimpleDateFormat pattern. */
function sheetsFormatToPattern(fmt) {
  const f = String(fmt || '');
  const hasTime = /[hs]/i.test(f);
  let out = '';
  for (let i = 0; i < f.length;) {
    const c = f[i].toLowerCase();
    let n = 1;
    while (f[i + n] && f[i + n].toLowerCase() === c) n++;
    if (c === 'y') out += 'y'.repeat(n);
    else if (c === 'd') out += 'd'.repeat(n);
    else if (c === 'h') out += 'H'.repeat(n);
    else if (c === 's') out += 's'.repeat(n);
    else if (c === 'm') {
      // "m" next to h or s is minutes, else month.
      const before = out.replace(/[^A-Za-z]/g, '').slice(-1);
      const after = f.slice(i + n).replace(/[^A-Za-z]/g, '').charAt(0).toLowerCase();
      out += (hasTime && (before === 'H' || after === 's')) ? 'm'.repeat(n) : 'M'.repeat(n);
    } else if (/[a-z]/.test(c)) out += `'${f.slice(i, i + n)}'`;
    else out += f.slice(i, i + n);
    i += n;
  }
  return out;
}

module.exports = { wallFields, offsetMs, wallToEpoch, formatDate, sheetsFormatToPattern };
