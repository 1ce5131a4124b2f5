/**
 * One CSV field from text, the one writer of every CSV reprobe writes (report tables, predictions, embeddings). A
 * field a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return: a class
 * or file name `=HYPERLINK(...)`) gets a leading `'` (OWASP's CSV injection advice), unless it is a plain number
 * (`-0.5` stays a number for pandas and spreadsheets alike); then RFC 4180 quoting where a comma, quote or line break
 * is in it. pandas.read_csv reads the field back as the text with its `'`.
 */
const FORMULA = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function csvField(text: string): string {
  const safe = FORMULA.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
