//! Trading-day arithmetic on segments: the equivalent of Qlib's
//! `TimeAdjuster` (reference §1).
//!
//! A [`Segment`] is a pair of optional dates; `None` is an open bound. All
//! arithmetic happens in the index space of a [`Calendar`]:
//!
//! - a start aligns to the first trading day on or after it (`bisect_left`),
//!   an end to the last trading day on or before it (`bisect_right - 1`);
//! - [`TimeAdjuster::shift`] moves both ends by `step` trading days
//!   ([`RollType::Sliding`]) or only the end ([`RollType::Expanding`]); an open
//!   bound stays open; an end shifted past the calendar becomes open (Qlib);
//! - [`TimeAdjuster::truncate`] clips every point to at most
//!   `index(test_start) - days`.
//!
//! Fixed Qlib defects (reference §9 A), each with a unit test below:
//!
//! - **B1** (`shift` off by one at the calendar end): Qlib only raises when the
//!   shifted start index is *greater* than the calendar length, so a start
//!   landing exactly one past the last day silently becomes open. Here any
//!   start at or past the end is [`TimeError::ShiftedPastCalendar`].
//! - **B2** (negative index wrap-around): Qlib aligns an end before the first
//!   trading day to index −1, i.e. the *last* trading day, and a start after
//!   the last day raises an `IndexError`. Indices here are unsigned: such
//!   points are [`TimeError::BeforeCalendar`] / [`TimeError::AfterCalendar`].
//! - **B7** (`assert tp_idx > 0` in `truncate`): index 0 (the first trading
//!   day) is a valid truncation result; only a cut-off before the first day is
//!   [`TimeError::TruncatedBeforeCalendar`].
//! - `truncate` with open points (Qlib raises `TypeError`): an open start stays
//!   open (it is already before the cut-off), an open end becomes the cut-off.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use crate::calendar::Calendar;

/// A time segment: `[start, end]`, `None` meaning unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    /// First day, `None` = from the beginning.
    pub start: Option<Date>,
    /// Last day (inclusive), `None` = open-ended.
    pub end: Option<Date>,
}

impl Segment {
    /// A segment from its two bounds.
    pub fn new(start: Option<Date>, end: Option<Date>) -> Self {
        Segment { start, end }
    }
}

/// How a rolling window moves: both ends, or only the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RollType {
    /// Both start and end move by the step (Qlib `ROLL_SD = "sliding"`).
    Sliding,
    /// Only the end moves; the start stays (Qlib `ROLL_EX = "expanding"`).
    #[default]
    Expanding,
}

impl RollType {
    /// The Qlib spelling: `"sliding"` or `"expanding"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RollType::Sliding => "sliding",
            RollType::Expanding => "expanding",
        }
    }
}

impl fmt::Display for RollType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rolling type other than `sliding` / `expanding`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rolling type `{0}` (expected `sliding` or `expanding`)")]
pub struct UnknownRollType(pub String);

impl FromStr for RollType {
    type Err = UnknownRollType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sliding" => Ok(RollType::Sliding),
            "expanding" => Ok(RollType::Expanding),
            other => Err(UnknownRollType(other.to_owned())),
        }
    }
}

/// A date that cannot be placed on the calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// A start after the last trading day (Qlib: `IndexError`).
    #[error("{date} is after the last trading day {last}")]
    AfterCalendar {
        /// The date.
        date: Date,
        /// The calendar's last day.
        last: Date,
    },
    /// An end before the first trading day (Qlib: wraps to the last day, B2).
    #[error("{date} is before the first trading day {first}")]
    BeforeCalendar {
        /// The date.
        date: Date,
        /// The calendar's first day.
        first: Date,
    },
    /// A segment between two trading days (e.g. a weekend).
    #[error("{start}..{end} contains no trading day")]
    NoTradingDay {
        /// Its start.
        start: Date,
        /// Its end.
        end: Date,
    },
    /// Truncation would move a point before the first trading day.
    #[error("{days} trading days before {test_start} is before the first trading day {first}")]
    TruncatedBeforeCalendar {
        /// The test start the truncation is relative to.
        test_start: Date,
        /// The gap in trading days.
        days: usize,
        /// The calendar's first day.
        first: Date,
    },
    /// A shifted start at or past the last trading day (B1: Qlib lets the
    /// index equal to the length through as an open start).
    #[error("the shifted start is past the last trading day {last}")]
    ShiftedPastCalendar {
        /// The calendar's last day.
        last: Date,
    },
}

/// A segment as calendar indices (`end` may be past the calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexSegment {
    pub(crate) start: Option<usize>,
    pub(crate) end: Option<usize>,
}

/// Trading-day arithmetic against one calendar, borrowed for the call (no
/// snapshot).
#[derive(Debug, Clone, Copy)]
pub struct TimeAdjuster<'c> {
    calendar: &'c Calendar,
}

impl<'c> TimeAdjuster<'c> {
    /// Arithmetic on `calendar`.
    pub fn new(calendar: &'c Calendar) -> Self {
        TimeAdjuster { calendar }
    }

    /// The calendar.
    pub fn calendar(&self) -> &'c Calendar {
        self.calendar
    }

    /// The trading day at `index`, `None` past the end (Qlib `get`; B2:
    /// indices are unsigned, nothing wraps around).
    pub fn get(&self, index: usize) -> Option<Date> {
        self.calendar.get(index)
    }

    /// The first trading day on or after `date`.
    ///
    /// # Errors
    /// [`TimeError::AfterCalendar`] when there is none.
    pub fn align_start(&self, date: Date) -> Result<Date, TimeError> {
        self.start_index(date).map(|i| self.calendar.days()[i])
    }

    /// The last trading day on or before `date`.
    ///
    /// # Errors
    /// [`TimeError::BeforeCalendar`] when there is none (B2).
    pub fn align_end(&self, date: Date) -> Result<Date, TimeError> {
        self.end_index(date).map(|i| self.calendar.days()[i])
    }

    /// Align both bounds of `segment` (start forward, end backward); open
    /// bounds stay open.
    ///
    /// # Errors
    /// As [`TimeAdjuster::align_start`] / [`TimeAdjuster::align_end`], and
    /// [`TimeError::NoTradingDay`] when no trading day lies inside.
    pub fn align_seg(&self, segment: Segment) -> Result<Segment, TimeError> {
        self.align_index_seg(segment).map(|s| self.dated(s))
    }

    /// `index(a) - index(b)`, both aligned as starts (Qlib `cal_interval`).
    pub fn cal_interval(&self, a: Date, b: Date) -> i64 {
        let ia = self.calendar.index_on_or_after(a) as i64;
        let ib = self.calendar.index_on_or_after(b) as i64;
        ia - ib
    }

    /// Clip every point of `segment` to at most `days` trading days before
    /// `test_start` (Qlib `truncate`, with B7 fixed and open points allowed).
    ///
    /// # Errors
    /// As [`TimeAdjuster::align_seg`] for `segment` and `test_start`, and
    /// [`TimeError::TruncatedBeforeCalendar`] when the cut-off is before the
    /// first trading day.
    pub fn truncate(
        &self,
        segment: Segment,
        test_start: Date,
        days: usize,
    ) -> Result<Segment, TimeError> {
        let seg = self.align_index_seg(segment)?;
        let test_index = self.start_index(test_start)?;
        self.truncated(seg, test_index, days).map(|s| self.dated(s))
    }

    /// Move `segment` by `step` trading days (Qlib `shift`, with B1 fixed).
    ///
    /// # Errors
    /// As [`TimeAdjuster::align_seg`], and [`TimeError::ShiftedPastCalendar`]
    /// when the shifted start is past the last trading day.
    pub fn shift(
        &self,
        segment: Segment,
        step: usize,
        rtype: RollType,
    ) -> Result<Segment, TimeError> {
        let seg = self.align_index_seg(segment)?;
        self.shifted(seg, step, rtype)
    }

    pub(crate) fn start_index(&self, date: Date) -> Result<usize, TimeError> {
        let i = self.calendar.index_on_or_after(date);
        if i >= self.calendar.len() {
            return Err(TimeError::AfterCalendar {
                date,
                last: self.calendar.last(),
            });
        }
        Ok(i)
    }

    pub(crate) fn end_index(&self, date: Date) -> Result<usize, TimeError> {
        self.calendar
            .index_on_or_before(date)
            .ok_or(TimeError::BeforeCalendar {
                date,
                first: self.calendar.first(),
            })
    }

    pub(crate) fn align_index_seg(&self, segment: Segment) -> Result<IndexSegment, TimeError> {
        let start = segment.start.map(|d| self.start_index(d)).transpose()?;
        let end = segment.end.map(|d| self.end_index(d)).transpose()?;
        if let (Some(s), Some(e), Some(start), Some(end)) = (start, end, segment.start, segment.end)
            && s > e
        {
            return Err(TimeError::NoTradingDay { start, end });
        }
        Ok(IndexSegment { start, end })
    }

    pub(crate) fn truncated(
        &self,
        seg: IndexSegment,
        test_index: usize,
        days: usize,
    ) -> Result<IndexSegment, TimeError> {
        let cutoff = test_index
            .checked_sub(days)
            .ok_or(TimeError::TruncatedBeforeCalendar {
                test_start: self.calendar.days()[test_index],
                days,
                first: self.calendar.first(),
            })?;
        Ok(IndexSegment {
            start: seg.start.map(|s| s.min(cutoff)),
            end: Some(seg.end.map_or(cutoff, |e| e.min(cutoff))),
        })
    }

    pub(crate) fn shifted(
        &self,
        seg: IndexSegment,
        step: usize,
        rtype: RollType,
    ) -> Result<Segment, TimeError> {
        let start = match rtype {
            RollType::Sliding => seg.start.map(|s| s.saturating_add(step)),
            RollType::Expanding => seg.start,
        };
        if start.is_some_and(|s| s >= self.calendar.len()) {
            return Err(TimeError::ShiftedPastCalendar {
                last: self.calendar.last(),
            });
        }
        Ok(self.dated(IndexSegment {
            start,
            end: seg.end.map(|e| e.saturating_add(step)),
        }))
    }

    /// Dates of an index segment; an end past the calendar is open.
    pub(crate) fn dated(&self, seg: IndexSegment) -> Segment {
        Segment {
            start: seg.start.and_then(|i| self.get(i)),
            end: seg.end.and_then(|i| self.get(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// Reference §1's verified examples use a dense calendar 2021-01-01..30
    /// (index i is day i+1).
    fn dense() -> Calendar {
        Calendar::from_dates((1..=30).map(|d| date(2021, 1, d))).unwrap()
    }

    fn d(day: i8) -> Option<Date> {
        Some(date(2021, 1, day))
    }

    #[test]
    fn cal_interval_counts_trading_days() {
        // §1: cal_interval("2021-01-20", "2021-01-13") = 7.
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert_eq!(ta.cal_interval(date(2021, 1, 20), date(2021, 1, 13)), 7);
    }

    #[test]
    fn align_seg_moves_start_forward_and_end_backward() {
        // §1 align_seg: start -> next trading day, end -> previous.
        let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 31), []).unwrap();
        let ta = TimeAdjuster::new(&cal);
        let seg = Segment::new(Some(date(2020, 1, 4)), Some(date(2020, 1, 12)));
        assert_eq!(
            ta.align_seg(seg).unwrap(),
            Segment::new(Some(date(2020, 1, 6)), Some(date(2020, 1, 10)))
        );
        assert_eq!(
            ta.align_seg(Segment::new(None, None)).unwrap(),
            Segment::new(None, None)
        );
    }

    #[test]
    fn align_seg_rejects_weekend_only_segment() {
        // A segment holding no trading day is an error, not a reversed pair.
        let cal = Calendar::weekdays(date(2020, 1, 1), date(2020, 12, 31), []).unwrap();
        let ta = TimeAdjuster::new(&cal);
        let seg = Segment::new(Some(date(2020, 1, 4)), Some(date(2020, 1, 5)));
        assert!(matches!(
            ta.align_seg(seg),
            Err(TimeError::NoTradingDay { .. })
        ));
    }

    #[test]
    fn align_end_before_calendar_is_error_not_wraparound() {
        // B2: Qlib returns the LAST calendar day here (index -1).
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert!(matches!(
            ta.align_end(date(2020, 12, 31)),
            Err(TimeError::BeforeCalendar { .. })
        ));
    }

    #[test]
    fn align_start_after_calendar_is_error() {
        // B2: Qlib raises IndexError; here a typed error.
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert!(matches!(
            ta.align_start(date(2021, 2, 1)),
            Err(TimeError::AfterCalendar { .. })
        ));
    }

    #[test]
    fn shift_sliding_moves_both_ends() {
        // §1: shift((None, 01-10), 4, SD) = (None, 01-14).
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        let out = ta
            .shift(Segment::new(None, d(10)), 4, RollType::Sliding)
            .unwrap();
        assert_eq!(out, Segment::new(None, d(14)));
    }

    #[test]
    fn shift_expanding_end_past_calendar_is_open() {
        // §1: shift((01-27, 01-30), 4, EX) = (01-27, None).
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        let out = ta
            .shift(Segment::new(d(27), d(30)), 4, RollType::Expanding)
            .unwrap();
        assert_eq!(out, Segment::new(d(27), None));
    }

    #[test]
    fn shift_start_exactly_past_calendar_is_error() {
        // B1: Qlib returns (None, None) for si == N (26 + 4 == 30).
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert!(matches!(
            ta.shift(Segment::new(d(27), d(30)), 4, RollType::Sliding),
            Err(TimeError::ShiftedPastCalendar { .. })
        ));
        assert!(matches!(
            ta.shift(Segment::new(d(28), d(30)), 4, RollType::Sliding),
            Err(TimeError::ShiftedPastCalendar { .. })
        ));
    }

    #[test]
    fn shift_huge_step_is_error_not_overflow() {
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert!(matches!(
            ta.shift(Segment::new(d(1), d(2)), usize::MAX, RollType::Sliding),
            Err(TimeError::ShiftedPastCalendar { .. })
        ));
        let open = ta
            .shift(Segment::new(d(1), d(2)), usize::MAX, RollType::Expanding)
            .unwrap();
        assert_eq!(open, Segment::new(d(1), None));
    }

    #[test]
    fn truncate_clips_to_days_before_test_start() {
        // §1: truncate((01-02, 01-12), test_start=01-13, days=2) = (01-02, 01-11).
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        let out = ta
            .truncate(Segment::new(d(2), d(12)), date(2021, 1, 13), 2)
            .unwrap();
        assert_eq!(out, Segment::new(d(2), d(11)));
    }

    #[test]
    fn truncate_allows_first_calendar_day() {
        // B7: Qlib asserts index > 0 and rejects a segment starting at 01-01.
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        let out = ta
            .truncate(Segment::new(d(1), d(12)), date(2021, 1, 13), 2)
            .unwrap();
        assert_eq!(out, Segment::new(d(1), d(11)));
        let collapsed = ta
            .truncate(Segment::new(d(1), d(3)), date(2021, 1, 3), 2)
            .unwrap();
        assert_eq!(collapsed, Segment::new(d(1), d(1)));
    }

    #[test]
    fn truncate_before_calendar_is_error() {
        // B7's real error case: the cut-off itself is before the first day.
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        assert!(matches!(
            ta.truncate(Segment::new(d(1), d(2)), date(2021, 1, 2), 2),
            Err(TimeError::TruncatedBeforeCalendar { .. })
        ));
    }

    #[test]
    fn truncate_keeps_open_start_and_closes_open_end() {
        // Qlib raises TypeError on open points; open start stays, open end = cut-off.
        let cal = dense();
        let ta = TimeAdjuster::new(&cal);
        let out = ta
            .truncate(Segment::new(None, None), date(2021, 1, 13), 2)
            .unwrap();
        assert_eq!(out, Segment::new(None, d(11)));
    }

    #[test]
    fn roll_type_parses_qlib_names() {
        assert_eq!("sliding".parse::<RollType>(), Ok(RollType::Sliding));
        assert_eq!("expanding".parse::<RollType>(), Ok(RollType::Expanding));
        assert!("rolling".parse::<RollType>().is_err());
    }
}
