const DATE_START = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * What is wrong with the calendar date (and time of day) a text starts with, or `undefined` when it is a real one or
 * the text does not start like `YYYY-MM-DD`. `Date.parse` rolls `2018-02-30T00:00Z` over to 2 March and the bill
 * routes threw "no such date" as a 500: every query or path parameter of every route is checked here first, so an
 * impossible date (`2018-02-30`, `2018-13-01`, `2017-02-29`, `2018-04-31`, `2018-01-01T24:30Z`) is a 400.
 * Returns one sentence fragment: `no such date: February 2018 has 28 days`.
 */
export function calendarProblem(text: string): string | undefined {
  const m = DATE_START.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `no such date: month ${m[2]} (months are 01 to 12)`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return `no such date: ${MONTHS[month - 1]} ${year} has ${days} days`;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return `no such time of day: ${m[4]}:${m[5]}${m[6] !== undefined ? `:${m[6]}` : ''}`;
  return undefined;
}
