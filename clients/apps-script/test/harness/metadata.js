// Developer metadata (with its finder) and protections of the fake SpreadsheetApp. A metadata
// entry lives in the list of its row, column or sheet (see Sheet), so it moves with them.
'use strict';

const { DeveloperMetadataVisibility, fail, letters, newId } = require('./cells');

class DeveloperMetadata {
  constructor(owner, key, value, visibility) {
    if (!key) fail('Invalid argument: key');
    this.owner = owner;  // {sheet, type} — the row/column it sits on is found by search
    this.id = newId();
    this.key = String(key);
    this.value = value === undefined || value === null ? null : String(value);
    this.visibility = visibility || DeveloperMetadataVisibility.DOCUMENT;
    this.removed = false;
  }

  getId() { return this.id; }
  getKey() { return this.key; }
  getValue() { return this.value; }
  getVisibility() { return this.visibility; }

  setKey(key) {
    this.owner.sheet.checkMetadataRoom(key.length - this.key.length);
    this.key = String(key);
    return this;
  }

  setValue(value) {
    const v = value === null || value === undefined ? null : String(value);
    this.owner.sheet.checkMetadataRoom((v || '').length - (this.value || '').length);
    this.value = v;
    return this;
  }

  remove() {
    this.owner.sheet.removeMetadata(this);
  }

  getLocation() {
    const md = this;
    const sheet = this.owner.sheet;
    return {
      getLocationType: () => md.owner.type,
      getSheet: () => (md.owner.type === 'SHEET' ? sheet : null),
      getSpreadsheet: () => null,
      getRow: () => {
        if (md.owner.type !== 'ROW') return null;
        const i = sheet.rowMeta.findIndex((list) => list.includes(md));
        return i < 0 ? null : sheet.getRange(`${i + 1}:${i + 1}`);
      },
      getColumn: () => {
        if (md.owner.type !== 'COLUMN') return null;
        const i = sheet.colMeta.findIndex((list) => list.includes(md));
        return i < 0 ? null : sheet.getRange(`${letters(i + 1)}:${letters(i + 1)}`);
      },
    };
  }
}

class MetadataFinder {
  constructor(items) {
    this.items = items;
  }

  withKey(key) { return new MetadataFinder(this.items.filter((m) => m.key === key)); }
  withValue(value) { return new MetadataFinder(this.items.filter((m) => m.value === value)); }
  withId(id) { return new MetadataFinder(this.items.filter((m) => m.id === id)); }
  withLocationType(type) { return new MetadataFinder(this.items.filter((m) => m.owner.type === type)); }
  withVisibility(v) { return new MetadataFinder(this.items.filter((m) => m.visibility === v)); }
  onIntersectingLocations() { return this; }
  find() { return this.items.slice(); }
}

class Protection {
  constructor(sheet, type, box) {
    this.sheet = sheet;
    this.type = type;
    this.box = box;  // {row, col, numRows, numCols} for RANGE; null for SHEET
    this.description = '';
    this.warningOnly = false;
    this.editors = [sheet.spreadsheet.owner];
    this.domainEdit = false;
  }

  getProtectionType() { return this.type; }
  getDescription() { return this.description; }
  setDescription(d) { this.description = String(d); return this; }
  isWarningOnly() { return this.warningOnly; }
  setWarningOnly(w) { this.warningOnly = !!w; return this; }
  getEditors() { return this.editors.map((e) => ({ getEmail: () => e })); }
  addEditor(e) { this.editors.push(typeof e === 'string' ? e : e.getEmail()); return this; }
  removeEditors(list) {
    const out = list.map((e) => (typeof e === 'string' ? e : e.getEmail()));
    this.editors = this.editors.filter((e) => !out.includes(e) || e === this.sheet.spreadsheet.owner);
    return this;
  }
  canDomainEdit() { return this.domainEdit; }
  setDomainEdit(v) { this.domainEdit = !!v; return this; }
  canEdit() { return true; }  // scripts run as the owner
  remove() { this.sheet.protections = this.sheet.protections.filter((p) => p !== this); }

  getRange() {
    if (!this.box) return this.sheet.getRange(1, 1, this.sheet.getMaxRows(), this.sheet.getMaxColumns());
    return this.sheet.getRange(this.box.row, this.box.col, this.box.numRows, this.box.numCols);
  }

  covers(row, col) {
    if (!this.box) return true;
    const b = this.box;
    return row >= b.row && row < b.row + b.numRows && col >= b.col && col < b.col + b.numCols;
  }
}
module.exports = { DeveloperMetadata, MetadataFinder, Protection };
