// Range of the fake SpreadsheetApp: values, formulas, formats, notes, developer metadata on whole
// rows/columns, protection and sort. A Range is fixed coordinates, as in Apps Script.
'use strict';

const { formatDate, sheetsFormatToPattern } = require('./dates');
const {
  DEFAULT_FORMAT, DATETIME_FORMAT, DeveloperMetadataVisibility, ProtectionType, fail, parseInput, isDate, letters,
} = require('./cells');
const { MetadataFinder, Protection } = require('./metadata');

class Range {
  constructor(sheet, row, col, numRows, numCols) {
    this.sheet = sheet;
    this.row = row;
    this.col = col;
    this.numRows = numRows;
    this.numCols = numCols;
  }

  getSheet() { return this.sheet; }
  getRow() { return this.row; }
  getRowIndex() { return this.row; }
  getColumn() { return this.col; }
  getNumRows() { return this.numRows; }
  getNumColumns() { return this.numCols; }
  getLastRow() { return this.row + this.numRows - 1; }
  getLastColumn() { return this.col + this.numCols - 1; }
  getHeight() { return this.numRows; }
  getWidth() { return this.numCols; }
  activate() { return this; }

  getA1Notation() {
    const tl = `${letters(this.col)}${this.row}`;
    return this.numRows === 1 && this.numCols === 1 ? tl : `${tl}:${letters(this.getLastColumn())}${this.getLastRow()}`;
  }

  offset(dr, dc, nr, nc) {
    return this.sheet.getRange(this.row + dr, this.col + dc, nr || this.numRows, nc || this.numCols);
  }

  map(fn) {
    const out = [];
    for (let r = 0; r < this.numRows; r++) {
      const row = [];
      for (let c = 0; c < this.numCols; c++) {
        const cell = this.sheet.peek(this.row + r, this.col + c);
        row.push(fn(cell, this.row + r, this.col + c));
      }
      out.push(row);
    }
    return out;
  }

  forEachCell(fn) {
    for (let r = 0; r < this.numRows; r++) {
      for (let c = 0; c < this.numCols; c++) fn(this.sheet.cell(this.row + r, this.col + c), r, c);
    }
  }

  checkDims(values, what) {
    if (!Array.isArray(values) || values.length !== this.numRows) {
      fail(`The number of rows in the data does not match the number of rows in the range. The data has ${Array.isArray(values) ? values.length : 0} but the range has ${this.numRows}.`);
    }
    for (const row of values) {
      if (!Array.isArray(row) || row.length !== this.numCols) {
        fail(`The number of columns in the data does not match the number of columns in the range. The data has ${Array.isArray(row) ? row.length : 0} but the range has ${this.numCols}.`);
      }
    }
    void what;
  }

  copyOut(v) {
    return isDate(v) ? new this.sheet.realm.Date(v.getTime()) : v;
  }

  getValues() { return this.map((c) => (c ? this.copyOut(c.v) : '')); }
  getValue() { return this.getValues()[0][0]; }
  getFormulas() { return this.map((c) => (c ? c.f : '')); }
  getFormula() { return this.getFormulas()[0][0]; }
  getNumberFormats() { return this.map((c) => (c ? c.fmt : DEFAULT_FORMAT)); }
  getNumberFormat() { return this.getNumberFormats()[0][0]; }
  getNotes() { return this.map((c) => (c ? c.note : '')); }
  getNote() { return this.getNotes()[0][0]; }
  isBlank() { return this.map((c) => !c || !c.hasContent()).flat().every(Boolean); }

  getDisplayValues() {
    const tz = this.sheet.spreadsheet.timeZone;
    return this.map((c) => {
      if (!c || c.v === '') return '';
      if (isDate(c.v)) return formatDate(c.v, tz, sheetsFormatToPattern(c.fmt === DEFAULT_FORMAT ? DATETIME_FORMAT : c.fmt));
      if (typeof c.v === 'boolean') return c.v ? 'TRUE' : 'FALSE';
      return String(c.v);
    });
  }

  getDisplayValue() { return this.getDisplayValues()[0][0]; }

  /** Stores one value written by a script (strings are read as Sheets reads them). */
  store(cell, value) {
    if (value === null || value === undefined) value = '';
    if (typeof value === 'object' && !isDate(value)) fail(`Invalid value: ${Object.prototype.toString.call(value)}`);
    const parsed = parseInput(value, cell.fmt, this.sheet.spreadsheet.timeZone, this.sheet.realm);
    cell.f = parsed.formula || '';
    cell.v = isDate(parsed.value) ? new Date(parsed.value.getTime()) : parsed.value;
    if (parsed.format) cell.fmt = parsed.format;
    if (isDate(value) && cell.fmt === DEFAULT_FORMAT) cell.fmt = DATETIME_FORMAT;
    if (typeof cell.v === 'number' && !Number.isFinite(cell.v)) fail('Invalid number');
  }

  setValues(values) {
    this.checkDims(values, 'values');
    this.sheet.stats.setValues++;
    this.forEachCell((cell, r, c) => this.store(cell, values[r][c]));
    return this;
  }

  setValue(value) {
    this.sheet.stats.setValues++;
    this.forEachCell((cell) => this.store(cell, value));
    return this;
  }

  setFormula(f) { this.forEachCell((cell) => { cell.f = f; cell.v = ''; }); return this; }

  setNumberFormat(fmt) { this.forEachCell((cell) => { cell.fmt = String(fmt); }); return this; }

  setNumberFormats(formats) {
    this.checkDims(formats, 'formats');
    this.sheet.stats.setNumberFormats++;
    this.forEachCell((cell, r, c) => { cell.fmt = String(formats[r][c]); });
    return this;
  }

  setNote(note) { this.forEachCell((cell) => { cell.note = note === null ? '' : String(note); }); return this; }

  setNotes(notes) {
    this.checkDims(notes, 'notes');
    this.forEachCell((cell, r, c) => { cell.note = notes[r][c] === null ? '' : String(notes[r][c]); });
    return this;
  }

  clearNote() { return this.setNote(''); }
  clearContent() { this.forEachCell((cell) => { cell.v = ''; cell.f = ''; }); return this; }
  clearFormat() { this.forEachCell((cell) => { cell.fmt = DEFAULT_FORMAT; }); return this; }
  clear() { this.forEachCell((cell) => { Object.assign(cell, new Cell()); }); return this; }

  protect() {
    const p = new Protection(this.sheet, ProtectionType.RANGE, { row: this.row, col: this.col, numRows: this.numRows, numCols: this.numCols });
    this.sheet.protections.push(p);
    return p;
  }

  /** Returns 'ROW' / 'COLUMN' when the range is exactly one whole row / column. */
  dimension() {
    if (this.col === 1 && this.numCols === this.sheet.getMaxColumns() && this.numRows === 1) return 'ROW';
    if (this.row === 1 && this.numRows === this.sheet.getMaxRows() && this.numCols === 1) return 'COLUMN';
    return '';
  }

  addDeveloperMetadata(key, a, b) {
    const dim = this.dimension();
    if (!dim) {
      fail('Adding developer metadata to arbitrary ranges is not currently supported. Developer metadata may only be added to the top-level spreadsheet, an individual sheet, or an entire row or column.');
    }
    const [value, visibility] = typeof a === 'string' && !DeveloperMetadataVisibility[a] ? [a, b] : [null, a];
    this.sheet.addMetadata(dim, dim === 'ROW' ? this.row : this.col, key, value, visibility);
    return this;
  }

  getDeveloperMetadata() {
    const dim = this.dimension();
    if (dim === 'ROW') return this.sheet.rowMeta[this.row - 1].slice();
    if (dim === 'COLUMN') return this.sheet.colMeta[this.col - 1].slice();
    return [];
  }

  createDeveloperMetadataFinder() {
    const out = [];
    for (let r = this.row; r <= this.getLastRow(); r++) out.push(...this.sheet.rowMeta[r - 1]);
    for (let c = this.col; c <= this.getLastColumn(); c++) out.push(...this.sheet.colMeta[c - 1]);
    return new MetadataFinder(out);
  }

  /** Range.sort(column | {column, ascending}): the rows of the range move whole. */
  sort(spec) {
    const s = typeof spec === 'number' ? { column: spec, ascending: true } : spec;
    this.sheet.sortRows(this.row, this.getLastRow(), s.column, s.ascending !== false);
    return this;
  }
}
module.exports = { Range };
