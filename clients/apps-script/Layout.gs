/**
 * Layout: which sheet column is which MySQL column, and which sheet row is which table row.
 *
 * Columns: each synced column carries its MySQL column name as column developer metadata
 * (key sheetsync.col). Sheets moves that tag with the column when columns are moved or
 * inserted, so a moved column keeps syncing to the right place; a header whose text no longer
 * equals its tag is reported as renamed and keeps syncing under the tagged name (never guessed).
 * Rows: the key column (protected, warning-only) holds each row's UUID — that is the identity.
 * Row developer metadata (key sheetsync.row) repeats the UUID only while the sheet's 30,000
 * character metadata quota allows (~500 rows); where present it restores a UUID cell that
 * someone overwrote or cleared (not when the whole row was cleared: that is a delete, tag or not). Duplicated UUIDs (a copied row) get a fresh UUID on the copy.
 */

/**
 * @typedef {Object} SyncColumn
 * @property {string} name MySQL column
 * @property {number} index 1-based sheet column
 * @property {string} kind one of COLUMN_KINDS
 */
/**
 * @typedef {Object} Layout
 * @property {number} keyIndex 1-based column of the key, 0 when it is missing
 * @property {SyncColumn[]} columns synced columns other than the key
 * @property {number} width number of columns to read
 * @property {Array<{column: string, header: string, name: string}>} renamed
 * @property {Array<{column: string, header: string}>} unmapped
 */
/**
 * @typedef {Object} SheetRow
 * @property {number} sheetRow 1-based row in the sheet
 * @property {string} key normalized UUID, '' when the cell holds none
 * @property {Array<*>} values the row's cells (width of the layout)
 * @property {Array<string>} formats the row's number formats
 * @property {boolean=} fresh its key was just generated (a new row, or a copy re-keyed)
 */

/** Reads the column tags and the header row. */
function readLayout_(/** @type {Ctx} */ ctx) {
  const sheet = ctx.sheet;
  const tags = sheet.createDeveloperMetadataFinder().withKey(COL_MD_KEY)
      .withLocationType(SpreadsheetApp.DeveloperMetadataLocationType.COLUMN).find()
      .map(function (md) { return { col: md.getLocation().getColumn().getColumn(), name: md.getValue() || '' }; })
      .sort(function (a, b) { return a.col - b.col; });
  /** @type {Object<number, string>} */
  const byIndex = {};
  const taken = {};
  let width = Math.max(sheet.getLastColumn(), 1);
  for (const t of tags) {
    if (!t.name || taken[t.name]) continue;  // a second tag with a name: the leftmost keeps it
    taken[t.name] = true;
    byIndex[t.col] = t.name;
    width = Math.max(width, t.col);
  }
  const headers = sheet.getRange(1, 1, 1, width).getDisplayValues()[0];
  /** @type {Layout} */
  const layout = { keyIndex: 0, columns: [], width: width, renamed: [], unmapped: [] };
  for (let c = 1; c <= width; c++) {
    const header = String(headers[c - 1]).trim();
    const name = byIndex[c];
    if (!name) {
      if (header) layout.unmapped.push({ column: columnLetter_(c), header: header });
      continue;
    }
    if (header !== name) layout.renamed.push({ column: columnLetter_(c), header: header, name: name });
    if (name === ctx.settings.keyColumn) layout.keyIndex = c;
    else layout.columns.push({ name: name, index: c, kind: ctx.settings.kinds[name] || 'auto' });
  }
  return layout;
}

/** Returns the layout, or throws a message for a person when the key column is gone. */
function requireLayout_(/** @type {Ctx} */ ctx) {
  const layout = readLayout_(ctx);
  if (!layout.keyIndex) {
    throw new Error('The key column "' + ctx.settings.keyColumn + '" is missing from sheet "' +
        ctx.settings.sheetName + '" (deleted?). Undo the change, or reconnect (sheetsync → Connect…).');
  }
  return layout;
}

/**
 * Tags untagged header columns: with `names` only those whose header is one of them, else all.
 * Returns whether a tag was added.
 */
function adoptColumns_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {string[]|null} */ names) {
  const mapped = {};
  mapped[ctx.settings.keyColumn] = layout.keyIndex > 0;
  for (const c of layout.columns) mapped[c.name] = true;
  let added = false;
  for (const u of layout.unmapped) {
    if (mapped[u.header] || (names && names.indexOf(u.header) < 0)) continue;
    ctx.sheet.getRange(u.column + ':' + u.column).addDeveloperMetadata(COL_MD_KEY, u.header);
    mapped[u.header] = true;
    added = true;
  }
  return added;
}

/** Reads the data rows (row 2 on). */
function readRows_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout) {
  const last = ctx.sheet.getLastRow();
  if (last < 2) return [];
  const range = ctx.sheet.getRange(2, 1, last - 1, layout.width);
  const values = range.getValues();
  const formats = range.getNumberFormats();
  return values.map(function (v, i) {
    return /** @type {SheetRow} */ ({ sheetRow: i + 2, key: normalizeUuid_(v[layout.keyIndex - 1]), values: v, formats: formats[i] });
  });
}

/** Returns {column: JSON value} of a row's synced cells. */
function rowJson_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {SheetRow} */ row) {
  /** @type {Object<string, *>} */
  const out = {};
  for (const c of layout.columns) {
    out[c.name] = cellToJson_(row.values[c.index - 1], c.kind, row.formats[c.index - 1], ctx.tz);
  }
  return out;
}

/** Returns whether any synced cell of the row holds something. */
function hasData_(/** @type {Layout} */ layout, /** @type {SheetRow} */ row) {
  return layout.columns.some(function (c) { return row.values[c.index - 1] !== ''; });
}

/** Returns {sheetRow: {md, uuid}} of the row tags. */
function readRowTags_(/** @type {GoogleAppsScript.Spreadsheet.Sheet} */ sheet) {
  /** @type {Object<number, {md: GoogleAppsScript.Spreadsheet.DeveloperMetadata, uuid: string}>} */
  const out = {};
  const found = sheet.createDeveloperMetadataFinder().withKey(ROW_MD_KEY)
      .withLocationType(SpreadsheetApp.DeveloperMetadataLocationType.ROW).find();
  for (const md of found) {
    out[md.getLocation().getRow().getRow()] = { md: md, uuid: normalizeUuid_(md.getValue()) };
  }
  return out;
}

/**
 * Gives every row with data one unique UUID: restores a UUID cell from the row tag when the
 * tagged UUID vanished from the key column (unless every synced cell of the row was cleared too:
 * the row is deleted, tag or not, and loses its tag), re-keys copies of another row's UUID (preferring to
 * keep it on a row outside `edited`), keys new rows, and re-points tags that a sort left behind.
 * Writes the key cells it changed; updates rows[].key. Returns the rows whose key changed.
 */
function repairKeys_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {SheetRow[]} */ rows, /** @type {Set<number>} */ edited) {
  const tags = readRowTags_(ctx.sheet);
  /** @type {Object<string, number>} */
  const count = {};
  for (const r of rows) if (r.key) count[r.key] = (count[r.key] || 0) + 1;
  const keepers = chooseKeepers_(rows, tags, count, edited);
  const changed = [];
  for (const r of rows) {
    const tag = tags[r.sheetRow];
    let want = r.key;
    if (tag && tag.uuid && tag.uuid !== r.key) {
      if (!count[tag.uuid] && !r.key && !hasData_(layout, r)) {
        // Key and every synced cell cleared: the row is gone, as it is without a tag (reconcile
        // sends the delete); its tag must not bring the UUID back to what is typed there next.
        tag.md.remove();
        delete tags[r.sheetRow];
      } else if (!count[tag.uuid]) {
        want = tag.uuid;  // the tagged UUID is gone from the column: restore it
      } else if (r.key && count[r.key] === 1) {
        tag.md.setValue(r.key);  // tag left behind (e.g. sort)
      }
    }
    if (want && want === r.key && count[want] > 1 && keepers[want] !== r.sheetRow) want = '';
    if (!want && hasData_(layout, r)) {
      want = Utilities.getUuid().toLowerCase();
      r.fresh = true;
    }
    if (want === r.key) continue;
    if (r.key) count[r.key]--;
    if (want) count[want] = (count[want] || 0) + 1;
    r.key = want;
    changed.push(r);
  }
  writeKeys_(ctx, layout, changed);
  return changed;
}

/** Returns {uuid: sheetRow} naming which of several rows with one UUID keeps it. */
function chooseKeepers_(/** @type {SheetRow[]} */ rows, /** @type {Object} */ tags, /** @type {Object<string, number>} */ count, /** @type {Set<number>} */ edited) {
  /** @type {Object<string, number>} */
  const keepers = {};
  const dups = rows.filter(function (r) { return r.key && count[r.key] > 1; });
  for (const r of dups) if (tags[r.sheetRow] && tags[r.sheetRow].uuid === r.key) keepers[r.key] = r.sheetRow;
  for (const r of dups) if (!keepers[r.key] && !edited.has(r.sheetRow)) keepers[r.key] = r.sheetRow;
  for (const r of dups) if (!keepers[r.key]) keepers[r.key] = r.sheetRow;
  return keepers;
}

/** Writes the keys of `rows` into the key column, one block write. */
function writeKeys_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout, /** @type {SheetRow[]} */ rows) {
  if (rows.length === 0) return;
  const first = Math.min.apply(null, rows.map(function (r) { return r.sheetRow; }));
  const last = Math.max.apply(null, rows.map(function (r) { return r.sheetRow; }));
  const range = ctx.sheet.getRange(first, layout.keyIndex, last - first + 1, 1);
  const values = range.getValues();
  for (const r of rows) values[r.sheetRow - first][0] = r.key;
  range.setNumberFormat(TEXT_FORMAT);
  range.setValues(values);
  for (const r of rows) r.values[layout.keyIndex - 1] = r.key;
}

/** Returns the characters of developer metadata on the sheet (keys + values). */
function metadataChars_(/** @type {GoogleAppsScript.Spreadsheet.Sheet} */ sheet) {
  return sheet.createDeveloperMetadataFinder().find().reduce(function (n, md) {
    return n + md.getKey().length + (md.getValue() || '').length;
  }, 0);
}

/**
 * Tags keyed rows that have no row tag while the metadata budget and the per-run cap allow;
 * removes tags of rows that lost their key. Returns {tagged, full}: rows of `rows` tagged, and
 * whether the budget is used up.
 */
function ensureRowTags_(/** @type {Ctx} */ ctx, /** @type {SheetRow[]} */ rows) {
  const tags = readRowTags_(ctx.sheet);
  let budget = SHEET_METADATA_LIMIT_CHARS - METADATA_RESERVE_CHARS - metadataChars_(ctx.sheet);
  const cost = ROW_MD_KEY.length + 36;
  let tagged = 0;
  for (const r of rows) {
    const tag = tags[r.sheetRow];
    if (tag && !r.key) {
      tag.md.remove();
      budget += cost;
    } else if (tag) {
      tagged++;
    }
  }
  for (const r of rows) {
    if (!r.key || tags[r.sheetRow]) continue;
    if (budget < cost || ctx.metadataAdds >= ROW_METADATA_ADDS_PER_RUN) break;
    ctx.sheet.getRange(r.sheetRow + ':' + r.sheetRow).addDeveloperMetadata(ROW_MD_KEY, r.key);
    ctx.metadataAdds++;
    budget -= cost;
    tagged++;
  }
  return { tagged: tagged, full: budget < cost };
}

/** Protects the key column (warning-only: a strict protection would also stop other editors
 *  from inserting or deleting rows). */
function protectKeyColumn_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout) {
  const protections = ctx.sheet.getProtections(SpreadsheetApp.ProtectionType.RANGE);
  for (const p of protections) {
    if (p.getDescription() !== KEY_PROTECTION) continue;
    const range = p.getRange();
    if (range && range.getColumn() === layout.keyIndex && range.getNumColumns() === 1) return;
    p.remove();
  }
  const letter = columnLetter_(layout.keyIndex);
  ctx.sheet.getRange(letter + ':' + letter).protect().setDescription(KEY_PROTECTION).setWarningOnly(true);
}

/** Sets the number format of each typed column below the header (text columns: plain text). */
function applyColumnFormats_(/** @type {Ctx} */ ctx, /** @type {Layout} */ layout) {
  const rows = ctx.sheet.getMaxRows() - 1;
  if (rows < 1) return;
  ctx.sheet.getRange(2, layout.keyIndex, rows, 1).setNumberFormat(TEXT_FORMAT);
  for (const c of layout.columns) {
    const format = KIND_FORMATS[c.kind];
    if (format) ctx.sheet.getRange(2, c.index, rows, 1).setNumberFormat(format);
  }
}

/** Returns the column letters of a 1-based column number (1 -> A, 27 -> AA). */
function columnLetter_(/** @type {number} */ n) {
  let s = '';
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}
