//! Where rolling test windows start and end.
//!
//! [`Step::TradingDays`] is Qlib's rule: window `k` starts `k * step` trading
//! days after the first test start. [`Step::Weeks`] and [`Step::Months`] align
//! windows to calendar periods (Qlib requests #1288): the first trading day
//! of each period starts a window. Periods are anchored at the period
//! containing the template's test start (ISO weeks start on Monday, months on
//! the 1st) and advance `n` periods at a time; the first window starts at the
//! template's test start itself, so it may be a partial period, and it never
//! starts earlier than requested. Periods without trading days are skipped.

use std::fmt;
use std::str::FromStr;

use jiff::Span;
use jiff::civil::Date;

use crate::calendar::Calendar;

/// How far apart consecutive test windows start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// A fixed number of trading days (Qlib's `step`).
    TradingDays(usize),
    /// Every `n` calendar weeks (Monday-based), on the first trading day of
    /// each period.
    Weeks(u32),
    /// Every `n` calendar months, on the first trading day of each period.
    Months(u32),
}

impl Step {
    /// Whether the step moves forward at all (`n >= 1`).
    pub fn is_positive(self) -> bool {
        match self {
            Step::TradingDays(n) => n >= 1,
            Step::Weeks(n) | Step::Months(n) => n >= 1,
        }
    }
}

impl Default for Step {
    /// Qlib's default: 40 trading days.
    fn default() -> Self {
        Step::TradingDays(40)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::TradingDays(n) => write!(f, "{n}"),
            Step::Weeks(n) => write!(f, "{n}w"),
            Step::Months(n) => write!(f, "{n}m"),
        }
    }
}

/// A step that is not `N`, `Nd`, `Nw` or `Nm`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a step: expected N or Nd (trading days), Nw (weeks) or Nm (months), e.g. 40, 2w, 1m"
)]
pub struct BadStep(pub String);

impl FromStr for Step {
    type Err = BadStep;

    /// `40` or `40d` = 40 trading days, `2w` = every 2 weeks, `1m` = monthly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadStep(s.to_owned());
        let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => s.split_at(i),
            None => (s, ""),
        };
        if digits.is_empty() {
            return Err(bad());
        }
        match unit {
            "" | "d" => digits.parse().map(Step::TradingDays).map_err(|_| bad()),
            "w" => digits.parse().map(Step::Weeks).map_err(|_| bad()),
            "m" => digits.parse().map(Step::Months).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// One test window as calendar indices; `end == None` means it runs past the
/// calendar (an open end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: usize,
    pub(crate) end: Option<usize>,
}

/// Every test window starting at `first` (always the first window) and then
/// at each later start not past `bound`. `len` overrides the window length in
/// trading days; by default a window lasts until the next one starts.
pub(crate) fn test_windows(
    step: Step,
    len: Option<usize>,
    calendar: &Calendar,
    first: usize,
    bound: usize,
) -> Vec<Window> {
    let fixed_end = |start: usize, len: usize| -> Option<usize> {
        (start.saturating_add(len) - 1 < calendar.len()).then(|| start + len - 1)
    };
    match step {
        Step::TradingDays(n) => {
            let len = len.unwrap_or(n);
            (0..)
                .map(|k: usize| first.saturating_add(k.saturating_mul(n)))
                .enumerate()
                .take_while(|&(k, start)| k == 0 || start <= bound)
                .map(|(_, start)| Window {
                    start,
                    end: fixed_end(start, len),
                })
                .collect()
        }
        Step::Weeks(n) | Step::Months(n) => {
            let anchor = period_anchor(step, calendar.days()[first]);
            let mut windows = Vec::new();
            for j in 0u32.. {
                let (Some(this), Some(next)) = (
                    nth_period(step, anchor, j.saturating_mul(n)),
                    nth_period(step, anchor, (j + 1).saturating_mul(n)),
                ) else {
                    break;
                };
                let start = if j == 0 {
                    first
                } else {
                    calendar.index_on_or_after(this)
                };
                if start >= calendar.len() || (j > 0 && start > bound) {
                    break;
                }
                let next_index = calendar.index_on_or_after(next);
                if start >= next_index {
                    continue;
                }
                let end = match len {
                    Some(len) => fixed_end(start, len),
                    None => next
                        .yesterday()
                        .ok()
                        .filter(|last| *last <= calendar.last())
                        .map(|_| next_index - 1),
                };
                windows.push(Window { start, end });
            }
            windows
        }
    }
}

/// The first day of the period containing `date`.
fn period_anchor(step: Step, date: Date) -> Date {
    match step {
        Step::Months(_) => date.first_of_month(),
        Step::Weeks(_) | Step::TradingDays(_) => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            date.checked_sub(Span::new().days(back)).unwrap_or(date)
        }
    }
}

/// The start of the period `count` units after `anchor`; `None` past the
/// representable range.
fn nth_period(step: Step, anchor: Date, count: u32) -> Option<Date> {
    let span = match step {
        Step::Months(_) => Span::new().try_months(i64::from(count)).ok()?,
        Step::Weeks(_) | Step::TradingDays(_) => Span::new().try_days(i64::from(count) * 7).ok()?,
    };
    anchor.checked_add(span).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn step_parses_units() {
        assert_eq!("40".parse(), Ok(Step::TradingDays(40)));
        assert_eq!("5d".parse(), Ok(Step::TradingDays(5)));
        assert_eq!("2w".parse(), Ok(Step::Weeks(2)));
        assert_eq!("1m".parse(), Ok(Step::Months(1)));
        assert!("m".parse::<Step>().is_err());
        assert!("3y".parse::<Step>().is_err());
        assert!("-1".parse::<Step>().is_err());
    }

    #[test]
    fn trading_day_windows_follow_step() {
        // 10 trading days, windows of 3 starting at 2, bound 8: starts 2, 5, 8.
        let cal = Calendar::from_dates((1..=10).map(|d| date(2021, 1, d))).unwrap();
        let w = test_windows(Step::TradingDays(3), None, &cal, 2, 8);
        assert_eq!(
            w,
            vec![
                Window {
                    start: 2,
                    end: Some(4)
                },
                Window {
                    start: 5,
                    end: Some(7)
                },
                Window {
                    start: 8,
                    end: None
                },
            ]
        );
    }

    #[test]
    fn monthly_windows_start_on_first_trading_day_of_month() {
        // 2020-02-01 is a Saturday: February's window starts Monday 02-03.
        let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 3, 31), []).unwrap();
        let first = cal.index_on_or_after(date(2020, 1, 15));
        let w = test_windows(Step::Months(1), None, &cal, first, cal.len() - 1);
        let days: Vec<_> = w
            .iter()
            .map(|w| (cal.days()[w.start], w.end.map(|e| cal.days()[e])))
            .collect();
        assert_eq!(
            days,
            vec![
                (date(2020, 1, 15), Some(date(2020, 1, 31))),
                (date(2020, 2, 3), Some(date(2020, 2, 28))),
                (date(2020, 3, 2), Some(date(2020, 3, 31))),
            ]
        );
    }
}
