"use strict";
// Adds sorting and filtering to the server-rendered exception table; without this script the
// page still shows everything.
(function () {
  var table = document.getElementById("exceptions");
  if (!table) return;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filterBox = document.getElementById("filter");
  var kindSelect = document.getElementById("kind");
  var shownCount = document.getElementById("shown-count");
  var noMatch = document.getElementById("no-match");
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var keyCache = [];
  var texts = null;
  var sorted = { column: -1, ascending: true };

  // Cells that are numbers sort numerically and before text (a column mixes DocEntry 9, 10, 100
  // with CardCodes); text sorts naturally (C9 before C10); empty cells sort last either way.
  function columnKeys(column) {
    if (keyCache[column]) return keyCache[column];
    return (keyCache[column] = rows.map(function (row) {
      var text = row.cells[column].textContent.trim();
      if (text === "") return null;
      var number = Number(text);
      return isFinite(number) ? number : text;
    }));
  }

  function compareKeys(a, b) {
    var aNumber = typeof a === "number", bNumber = typeof b === "number";
    if (aNumber && bNumber) return a - b;
    if (aNumber !== bNumber) return aNumber ? -1 : 1;
    return collator.compare(a, b);
  }

  function sortBy(column) {
    sorted.ascending = sorted.column === column ? !sorted.ascending : true;
    sorted.column = column;
    var keys = columnKeys(column);
    var direction = sorted.ascending ? 1 : -1;
    var order = rows.map(function (_, i) { return i; });
    order.sort(function (a, b) {
      var ka = keys[a], kb = keys[b];
      if (ka === null || kb === null) return ka === kb ? a - b : ka === null ? 1 : -1;
      var c = compareKeys(ka, kb);
      return c !== 0 ? direction * c : a - b;
    });
    var fragment = document.createDocumentFragment();
    order.forEach(function (i) { fragment.appendChild(rows[i]); });
    tbody.appendChild(fragment);
    heads.forEach(function (th, i) {
      th.setAttribute("aria-sort", i !== column ? "none" : sorted.ascending ? "ascending" : "descending");
    });
  }

  function applyFilter() {
    var needle = filterBox.value.trim().toLowerCase();
    var kind = kindSelect.value;
    // Cells joined with a newline so a filter never matches across two cells.
    if (!texts) texts = rows.map(function (row) {
      var cells = Array.prototype.map.call(row.cells, function (cell) { return cell.textContent; });
      return cells.join("\n").toLowerCase();
    });
    var shown = 0;
    rows.forEach(function (row, i) {
      var kindMatches = kind === "" || row.getAttribute("data-kind") === kind;
      var visible = kindMatches && (needle === "" || texts[i].indexOf(needle) !== -1);
      row.hidden = !visible;
      if (visible) shown++;
    });
    shownCount.textContent = String(shown);
    noMatch.hidden = shown !== 0;
  }

  heads.forEach(function (th, column) {
    var button = document.createElement("button");
    button.type = "button";
    button.title = "Sort by " + th.textContent;
    while (th.firstChild) button.appendChild(th.firstChild);
    th.appendChild(button);
    th.setAttribute("aria-sort", "none");
    button.addEventListener("click", function () { sortBy(column); });
  });
  filterBox.addEventListener("input", applyFilter);
  kindSelect.addEventListener("change", applyFilter);
  document.getElementById("controls").hidden = false;
  // A browser may restore form values on reload; the rows must match them.
  applyFilter();
})();
