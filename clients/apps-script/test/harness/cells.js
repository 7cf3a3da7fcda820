// Cells of the fake SpreadsheetApp: what a cell holds, and how Sheets reads a string written
// into it ("007" -> 7 unless the cell is plain text, "2026-01-02" -> a date, "TRUE" -> true,
// "=…" -> a formula, a leading apostrophe -> text). Also A1 helpers and the shared constants.
'use strict';

const { wallToEpoch } = require('./dates');

const METADATA_LIMIT = 30000;  // characters (keys + values) per sheet, as Sheets documents
const DEFAULT_FORMAT = 'General';
const DATE_FORMAT = 'yyyy-mm-dd';
const DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';
const TIME_FORMAT = 'hh:mm:ss';

const DeveloperMetadataLocationType = { SPREADSHEET: 'SPREADSHEET', SHEET: 'SHEET', ROW: 'ROW', COLUMN: 'COLUMN' };
const DeveloperMetadataVisibility = { DOCUMENT: 'DOCUMENT', PROJECT: 'PROJECT' };
const ProtectionType = { RANGE: 'RANGE', SHEET: 'SHEET' };

let nextId = 1000;

function fail(message) {
  throw new Error(`Exception: ${message}`);
}

/** Parses what a person types (or a script writes as a string) the way Sheets does. */
function parseInput(text, format, tz, realm) {
  if (typeof text !== 'string') return { value: text, format: null };
  if (text.startsWith('=')) return { value: '', formula: text, format: null };
  if (format === '@') return { value: text, format: null };
  if (text.startsWith("'")) return { value: text.slice(1), format: null };
  const t = text.trim();
  if (t === '') return { value: '', format: null };
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return { value: Number(t), format: null };
  if (/^(true|false)$/i.test(t)) return { value: t.toLowerCase() === 'true', format: null };
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  if (m && validDate(+m[1], +m[2], +m[3])) {
    return { value: new realm.Date(wallToEpoch(+m[1], +m[2], +m[3], 0, 0, 0, 0, tz)), format: keepOr(format, DATE_FORMAT) };
  }
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(t);
  if (m && validDate(+m[1], +m[2], +m[3])) {
    const ms = m[7] ? +(m[7] + '00').slice(0, 3) : 0;
    return { value: new realm.Date(wallToEpoch(+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] || 0), ms, tz)), format: keepOr(format, DATETIME_FORMAT) };
  }
  m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (m && +m[1] < 24) {
    return { value: new realm.Date(wallToEpoch(1899, 12, 30, +m[1], +m[2], +(m[3] || 0), 0, tz)), format: keepOr(format, TIME_FORMAT) };
  }
  return { value: text, format: null };
}

function keepOr(format, fallback) {
  return format && format !== DEFAULT_FORMAT && format !== '@' ? null : fallback;
}

function validDate(y, M, d) {
  const dt = new Date(Date.UTC(y, M - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === M - 1 && dt.getUTCDate() === d;
}

function isDate(v) {
  return Object.prototype.toString.call(v) === '[object Date]';
}

/** Returns the A1 column letters of 1-based column n. */
function letters(n) {
  let s = '';
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

function columnNumber(letterText) {
  let n = 0;
  for (const ch of letterText.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

class Cell {
  constructor() {
    this.v = '';
    this.f = '';
    this.fmt = DEFAULT_FORMAT;
    this.note = '';
  }

  clone() {
    const c = new Cell();
    Object.assign(c, this);
    return c;
  }

  hasContent() {
    return this.v !== '' || this.f !== '';
  }
}

/** Returns a fresh id for metadata and sheets (ids are unique within a process). */
function newId() {
  return nextId++;
}

module.exports = {
  METADATA_LIMIT, DEFAULT_FORMAT, DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT,
  DeveloperMetadataLocationType, DeveloperMetadataVisibility, ProtectionType,
  fail, parseInput, isDate, letters, columnNumber, Cell, newId,
};
