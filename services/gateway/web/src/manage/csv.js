// CSV as spreadsheets read it (pure): RFC 4180 quoting, CRLF, and never a formula — a cell that
// starts with = + - @ or a tab is prefixed with an apostrophe.

const FORMULA = /^[=+\-@\t\r]/;
function cell(value) {
  let s = value === null || value === undefined ? "" : String(value);
  if (FORMULA.test(s)) s = `'${s}`; // never a formula in a spreadsheet
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header, rows) {
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}
