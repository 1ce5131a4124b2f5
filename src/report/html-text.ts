import { printable } from '../errors.ts';

/** Text for HTML content and attribute values: control characters shown escaped (as in report.md and on the terminal), then entities. */
export const esc = (s: string) => printable(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
