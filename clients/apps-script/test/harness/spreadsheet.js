// An in-memory SpreadsheetApp: spreadsheets of sheets holding a grid of cells (value, formula,
// number format, note), structural edits (insert/delete/move rows and columns, sort), developer
// metadata on rows, columns and sheets that moves with its row/column and is dropped with it,
// the 30,000-character per-sheet metadata quota, protections, and Sheets' reading of strings
// ("007" -> 7 unless the cell is plain text, "2026-01-02" -> a date, "TRUE" -> true).
//
// Dates handed to the scripts are made with the script context's Date (see `realm`), so that
// `instanceof Date` holds inside the vm context as it does in Apps Script.
'use strict';
const {
  METADATA_LIMIT, DeveloperMetadataLocationType, DeveloperMetadataVisibility, ProtectionType,
  fail, parseInput, isDate, letters, columnNumber, Cell, newId,
} = require('./cells');
const { DeveloperMetadata, MetadataFinder, Protection } = require('./metadata');
const { Range } = require('./range');
const { wallFields } = require('./dates');

class Sheet {
  constructor(spreadsheet, name, rows = 1000, cols = 26) {
    this.spreadsheet = spreadsheet;
    this.name = name;
    this.id = newId();
    this.grid = Array.from({ length: rows }, () => []);
    this.maxCols = cols;
    this.rowMeta = Array.from({ length: rows }, () => []);
    this.colMeta = Array.from({ length: cols }, () => []);
    this.sheetMeta = [];
    this.protections = [];
    this.hidden = false;
    this.frozenRows = 0;
    this.stats = { setValues: 0, setNumberFormats: 0 };  // script writes, for "one batched write" checks
  }

  get realm() { return this.spreadsheet.realm; }

  cell(r, c) {
    const row = this.grid[r - 1];
    if (!row[c - 1]) row[c - 1] = new Cell();
    return row[c - 1];
  }

  peek(r, c) {
    return this.grid[r - 1] && this.grid[r - 1][c - 1];
  }

  getName() { return this.name; }
  setName(n) { this.name = String(n); return this; }
  getSheetName() { return this.name; }
  getSheetId() { return this.id; }
  getParent() { return this.spreadsheet; }
  getIndex() { return this.spreadsheet.sheets.indexOf(this) + 1; }
  getMaxRows() { return this.grid.length; }
  getMaxColumns() { return this.maxCols; }
  hideSheet() { this.hidden = true; return this; }
  showSheet() { this.hidden = false; return this; }
  isSheetHidden() { return this.hidden; }
  getFrozenRows() { return this.frozenRows; }
  setFrozenRows(n) { this.frozenRows = n; return this; }
  activate() { this.spreadsheet.active = this; return this; }

  getLastRow() {
    for (let r = this.grid.length; r >= 1; r--) {
      if (this.grid[r - 1].some((c) => c && c.hasContent())) return r;
    }
    return 0;
  }

  getLastColumn() {
    let last = 0;
    for (const row of this.grid) {
      for (let c = row.length; c > last; c--) {
        if (row[c - 1] && row[c - 1].hasContent()) { last = c; break; }
      }
    }
    return last;
  }

  getDataRange() {
    return this.getRange(1, 1, Math.max(this.getLastRow(), 1), Math.max(this.getLastColumn(), 1));
  }

  getRange(a, b, c, d) {
    if (typeof a === 'string') return this.rangeFromA1(a);
    const numRows = c === undefined ? 1 : c;
    const numCols = d === undefined ? 1 : d;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < 1 || numRows < 1 || numCols < 1) {
      fail(`The starting row/column or the number of rows/columns of the range is invalid (${a}, ${b}, ${numRows}, ${numCols}).`);
    }
    if (a + numRows - 1 > this.getMaxRows() || b + numCols - 1 > this.getMaxColumns()) {
      fail('The coordinates of the range are outside the dimensions of the sheet.');
    }
    return new Range(this, a, b, numRows, numCols);
  }

  rangeFromA1(a1) {
    let text = a1;
    const bang = text.lastIndexOf('!');
    if (bang >= 0) text = text.slice(bang + 1);
    text = text.replace(/\$/g, '');
    let m = /^(\d+):(\d+)$/.exec(text);
    if (m) return this.getRange(+m[1], 1, +m[2] - +m[1] + 1, this.getMaxColumns());
    m = /^([A-Z]+):([A-Z]+)$/i.exec(text);
    if (m) return this.getRange(1, columnNumber(m[1]), this.getMaxRows(), columnNumber(m[2]) - columnNumber(m[1]) + 1);
    m = /^([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$/i.exec(text);
    if (!m) fail(`Range not found: ${a1}`);
    const r1 = +m[2];
    const c1 = columnNumber(m[1]);
    const r2 = m[3] ? +m[4] : r1;
    const c2 = m[3] ? columnNumber(m[3]) : c1;
    return this.getRange(Math.min(r1, r2), Math.min(c1, c2), Math.abs(r2 - r1) + 1, Math.abs(c2 - c1) + 1);
  }

  // ---- structure ----

  insertRowsBefore(before, n) { this.spliceRows(before, n); return this; }
  insertRowsAfter(after, n) { this.spliceRows(after + 1, n); return this; }
  insertRows(index, n = 1) { this.spliceRows(index, n); return this; }
  insertRowBefore(before) { return this.insertRowsBefore(before, 1); }
  insertRowAfter(after) { return this.insertRowsAfter(after, 1); }

  /** Inserts n rows so that the first new row is `at`; they take the formats of the row above. */
  spliceRows(at, n) {
    if (at < 1 || at > this.grid.length + 1) fail(`Those rows are out of bounds (${at}).`);
    const template = this.grid[at - 2] || this.grid[at - 1] || [];
    const rows = Array.from({ length: n }, () => template.map((c) => {
      if (!c) return undefined;
      const x = new Cell();
      x.fmt = c.fmt;
      return x;
    }));
    this.grid.splice(at - 1, 0, ...rows);
    this.rowMeta.splice(at - 1, 0, ...Array.from({ length: n }, () => []));
    for (const p of this.protections) {
      if (!p.box) continue;
      if (p.box.row >= at) p.box.row += n;
      else if (p.box.row + p.box.numRows > at) p.box.numRows += n;
    }
  }

  deleteRow(r) { return this.deleteRows(r, 1); }

  deleteRows(start, n) {
    if (start < 1 || start + n - 1 > this.grid.length) fail('Those rows are out of bounds.');
    if (n >= this.grid.length - this.frozenRows) fail('Sorry, it is not possible to delete all non-frozen rows.');
    this.grid.splice(start - 1, n);
    this.rowMeta.splice(start - 1, n);
    this.protections = this.protections.filter((p) => {
      if (!p.box) return true;
      const b = p.box;
      const end = b.row + b.numRows - 1;
      const overlap = Math.max(0, Math.min(end, start + n - 1) - Math.max(b.row, start) + 1);
      if (overlap === b.numRows) return false;
      if (b.row > start + n - 1) b.row -= n;
      else if (b.row >= start) { b.row = start; }
      b.numRows -= overlap;
      return true;
    });
    return this;
  }

  insertColumnsBefore(before, n) { this.spliceColumns(before, n); return this; }
  insertColumnsAfter(after, n) { this.spliceColumns(after + 1, n); return this; }
  insertColumns(index, n = 1) { this.spliceColumns(index, n); return this; }
  insertColumnBefore(before) { return this.insertColumnsBefore(before, 1); }
  insertColumnAfter(after) { return this.insertColumnsAfter(after, 1); }

  spliceColumns(at, n) {
    if (at < 1 || at > this.maxCols + 1) fail(`Those columns are out of bounds (${at}).`);
    for (const row of this.grid) {
      while (row.length < at - 1) row.push(undefined);
      row.splice(at - 1, 0, ...new Array(n).fill(undefined));
    }
    this.colMeta.splice(at - 1, 0, ...Array.from({ length: n }, () => []));
    this.maxCols += n;
    for (const p of this.protections) {
      if (!p.box) continue;
      if (p.box.col >= at) p.box.col += n;
      else if (p.box.col + p.box.numCols > at) p.box.numCols += n;
    }
  }

  deleteColumn(c) { return this.deleteColumns(c, 1); }

  deleteColumns(start, n) {
    if (start < 1 || start + n - 1 > this.maxCols) fail('Those columns are out of bounds.');
    if (n >= this.maxCols) fail('Sorry, it is not possible to delete all columns.');
    for (const row of this.grid) row.splice(start - 1, n);
    this.colMeta.splice(start - 1, n);
    this.maxCols -= n;
    this.protections = this.protections.filter((p) => {
      if (!p.box) return true;
      const b = p.box;
      const end = b.col + b.numCols - 1;
      const overlap = Math.max(0, Math.min(end, start + n - 1) - Math.max(b.col, start) + 1);
      if (overlap === b.numCols) return false;
      if (b.col > start + n - 1) b.col -= n;
      else if (b.col >= start) b.col = start;
      b.numCols -= overlap;
      return true;
    });
    return this;
  }

  /** Sheet.moveColumns(columnSpec, destinationIndex): cells, formats, notes and tags move. */
  moveColumns(spec, dest) {
    const from = spec.getColumn();
    const n = spec.getNumColumns();
    const take = (arr) => arr.splice(from - 1, n);
    const target = dest > from ? dest - n : dest;
    for (const row of this.grid) {
      while (row.length < Math.max(from + n - 1, dest)) row.push(undefined);
      const cells = take(row);
      row.splice(target - 1, 0, ...cells);
    }
    const meta = take(this.colMeta);
    this.colMeta.splice(target - 1, 0, ...meta);
  }

  /** Sheet.moveRows(rowSpec, destinationIndex). */
  moveRows(spec, dest) {
    const from = spec.getRow();
    const n = spec.getNumRows();
    const target = dest > from ? dest - n : dest;
    const rows = this.grid.splice(from - 1, n);
    this.grid.splice(target - 1, 0, ...rows);
    const meta = this.rowMeta.splice(from - 1, n);
    this.rowMeta.splice(target - 1, 0, ...meta);
  }

  /** Sorts rows [first..last] by the value in column `col` (rows move whole, tags included). */
  sortRows(first, last, col, ascending) {
    const idx = [];
    for (let r = first; r <= last; r++) idx.push(r);
    const key = (r) => {
      const c = this.peek(r, col);
      const v = c ? c.v : '';
      return isDate(v) ? v.getTime() : v;
    };
    idx.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      if (x === y) return a - b;
      if (x === '') return 1;
      if (y === '') return -1;
      const cmp = typeof x === typeof y ? (x < y ? -1 : 1) : (typeof x === 'number' ? -1 : 1);
      return ascending ? cmp : -cmp;
    });
    const rows = idx.map((r) => this.grid[r - 1]);
    const meta = idx.map((r) => this.rowMeta[r - 1]);
    rows.forEach((row, i) => { this.grid[first - 1 + i] = row; });
    meta.forEach((m, i) => { this.rowMeta[first - 1 + i] = m; });
  }

  sort(col, ascending = true) {
    const first = this.frozenRows + 1;
    const last = this.getLastRow();
    if (last > first) this.sortRows(first, last, col, ascending);
    return this;
  }

  appendRow(values) {
    const r = this.getLastRow() + 1;
    if (r > this.getMaxRows()) this.insertRowsAfter(this.getMaxRows(), 1);
    if (values.length > this.maxCols) this.insertColumnsAfter(this.maxCols, values.length - this.maxCols);
    this.getRange(r, 1, 1, values.length).setValues([values]);
    return this;
  }

  clear() { this.grid = this.grid.map(() => []); return this; }
  clearContents() { this.getRange(1, 1, this.getMaxRows(), this.getMaxColumns()).clearContent(); return this; }

  // ---- protections ----

  protect() {
    const p = new Protection(this, ProtectionType.SHEET, null);
    this.protections.push(p);
    return p;
  }

  getProtections(type) {
    return this.protections.filter((p) => p.type === type);
  }

  // ---- developer metadata ----

  allMetadata() {
    return [...this.sheetMeta, ...this.rowMeta.flat(), ...this.colMeta.flat()];
  }

  metadataChars() {
    return this.allMetadata().reduce((n, m) => n + m.key.length + (m.value || '').length, 0);
  }

  checkMetadataRoom(extra) {
    if (this.metadataChars() + extra > METADATA_LIMIT) {
      fail(`Service Spreadsheets failed: developer metadata on sheet "${this.name}" would exceed ${METADATA_LIMIT} characters.`);
    }
  }

  addMetadata(type, index, key, value, visibility) {
    const md = new DeveloperMetadata({ sheet: this, type }, key, value, visibility);
    this.checkMetadataRoom(md.key.length + (md.value || '').length);
    if (type === 'ROW') this.rowMeta[index - 1].push(md);
    else if (type === 'COLUMN') this.colMeta[index - 1].push(md);
    else this.sheetMeta.push(md);
    return md;
  }

  removeMetadata(md) {
    for (const list of [this.sheetMeta, ...this.rowMeta, ...this.colMeta]) {
      const i = list.indexOf(md);
      if (i >= 0) list.splice(i, 1);
    }
  }

  addDeveloperMetadata(key, a, b) {
    const [value, visibility] = typeof a === 'string' && !DeveloperMetadataVisibility[a] ? [a, b] : [null, a];
    this.addMetadata('SHEET', 0, key, value, visibility);
    return this;
  }

  getDeveloperMetadata() { return this.sheetMeta.slice(); }
  createDeveloperMetadataFinder() { return new MetadataFinder(this.allMetadata()); }
}
class Spreadsheet {
  constructor({ id, name, timeZone, owner, realm }) {
    this.id = id;
    this.name = name || id;
    this.timeZone = timeZone;
    this.owner = owner;
    this.realm = realm;
    this.sheets = [];
    this.active = null;
    this.toasts = [];
    this.spreadsheetMeta = [];
  }

  getId() { return this.id; }
  getName() { return this.name; }
  getUrl() { return `https://docs.google.com/spreadsheets/d/${this.id}/edit`; }
  getSpreadsheetTimeZone() { return this.timeZone; }
  setSpreadsheetTimeZone(tz) { this.timeZone = tz; }
  getSheets() { return this.sheets.slice(); }
  getNumSheets() { return this.sheets.length; }
  getSheetByName(name) { return this.sheets.find((s) => s.name === name) || null; }
  getActiveSheet() { return this.active || this.sheets[0]; }
  setActiveSheet(sheet) { this.active = sheet; return sheet; }
  getOwner() { return { getEmail: () => this.owner }; }

  insertSheet(name, index) {
    const sheetName = name || `Sheet${this.sheets.length + 1}`;
    if (this.getSheetByName(sheetName)) fail(`A sheet with the name "${sheetName}" already exists. Please enter another name.`);
    const sheet = new Sheet(this, sheetName);
    if (index === undefined) this.sheets.push(sheet);
    else this.sheets.splice(index, 0, sheet);
    this.active = sheet;
    return sheet;
  }

  deleteSheet(sheet) {
    if (this.sheets.length === 1) fail('A spreadsheet must have at least one sheet.');
    this.sheets = this.sheets.filter((s) => s !== sheet);
  }

  getRange(a1) {
    const bang = a1.lastIndexOf('!');
    const sheet = bang >= 0 ? this.getSheetByName(a1.slice(0, bang).replace(/^'|'$/g, '')) : this.getActiveSheet();
    if (!sheet) fail(`Range not found: ${a1}`);
    return sheet.getRange(bang >= 0 ? a1.slice(bang + 1) : a1);
  }

  toast(msg, title, timeout) {
    this.toasts.push({ msg: String(msg), title: title || '', timeout });
  }

  createDeveloperMetadataFinder() {
    return new MetadataFinder([...this.spreadsheetMeta, ...this.sheets.flatMap((s) => s.allMetadata())]);
  }

  getDeveloperMetadata() { return this.spreadsheetMeta.slice(); }
}

/** The SpreadsheetApp global of one script project bound to `spreadsheet`. */
function makeSpreadsheetApp(spreadsheet, ui) {
  return {
    DeveloperMetadataLocationType,
    DeveloperMetadataVisibility,
    ProtectionType,
    getActiveSpreadsheet: () => spreadsheet,
    getActive: () => spreadsheet,
    getActiveSheet: () => spreadsheet.getActiveSheet(),
    getActiveRange: () => spreadsheet.getActiveSheet().getRange(1, 1),
    getUi: () => ui,
    flush: () => {},
    openById: (id) => {
      if (id !== spreadsheet.id) fail('You do not have permission to call SpreadsheetApp.openById (the script has spreadsheets.currentonly).');
      return spreadsheet;
    },
  };
}
module.exports = {
  Spreadsheet, Sheet, Range, Cell, parseInput, makeSpreadsheetApp, letters, columnNumber, isDate,
  METADATA_LIMIT, DeveloperMetadataLocationType, wallFields,
};
