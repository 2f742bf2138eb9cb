//! The binary encoding of a [`Frame`] (artifact format), version 1.
//!
//! All integers are little-endian; strings are a `u32` byte length followed
//! by UTF-8 bytes. Instruments are dictionary-encoded (each distinct name
//! once, in order of first appearance), values are stored column by column
//! as raw IEEE-754 bits, so `NaN` and every other value round-trip exactly.
//!
//! | field | type |
//! |---|---|
//! | magic | 4 bytes `TPFR` |
//! | version | `u8` = 1 |
//! | column count `c` | `u32` |
//! | column names | `c` strings |
//! | row count `n` | `u64` |
//! | dictionary size `k` | `u32` |
//! | instrument names | `k` strings |
//! | datetimes | `n` × (`i16` year, `u8` month, `u8` day) |
//! | instruments | `n` × `u32` dictionary index |
//! | values | `c` × `n` × `f64` |
//!
//! Decoding rejects anything else (wrong magic or version, truncation,
//! trailing bytes, invalid dates, indexes or UTF-8) with `InvalidInput`.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;
use task_store::{Error, Result};

use super::Frame;

/// The first four bytes of an encoded frame.
pub const MAGIC: &[u8; 4] = b"TPFR";
/// The encoding version written by [`Frame::encode`].
pub const VERSION: u8 = 1;

impl Frame {
    /// The frame in the binary encoding described in [`binary`](self).
    pub fn encode(&self) -> Vec<u8> {
        let n = self.len();
        let mut out = Vec::with_capacity(64 + n * (8 + 8 * self.columns.len()));
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_u32(&mut out, self.columns.len());
        for c in &self.columns {
            put_str(&mut out, &c.name);
        }
        out.extend_from_slice(&(n as u64).to_le_bytes());
        let mut dictionary: HashMap<&str, u32> = HashMap::new();
        let mut names: Vec<&str> = Vec::new();
        let indexes: Vec<u32> = self
            .instrument
            .iter()
            .map(|i| {
                let name: &str = i;
                *dictionary.entry(name).or_insert_with(|| {
                    names.push(name);
                    (names.len() - 1) as u32
                })
            })
            .collect();
        put_u32(&mut out, names.len());
        for name in names {
            put_str(&mut out, name);
        }
        for d in &self.datetime {
            out.extend_from_slice(&d.year().to_le_bytes());
            out.push(d.month() as u8);
            out.push(d.day() as u8);
        }
        for i in indexes {
            out.extend_from_slice(&i.to_le_bytes());
        }
        for c in &self.columns {
            for v in &c.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// A frame from its binary encoding.
    ///
    /// # Errors
    /// `InvalidInput` for anything but a complete version-1 encoding.
    pub fn decode(bytes: &[u8]) -> Result<Frame> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(bad("not an encoded frame (wrong magic)"));
        }
        let version = r.take(1)?[0];
        if version != VERSION {
            return Err(bad(&format!(
                "unsupported frame encoding version {version} (this build reads {VERSION})"
            )));
        }
        let ncols = r.u32()? as usize;
        let names = (0..ncols).map(|_| r.string()).collect::<Result<Vec<_>>>()?;
        let n = usize::try_from(r.u64()?).map_err(|_| bad("row count too large"))?;
        let k = r.u32()? as usize;
        // Every row of one instrument shares the dictionary entry's allocation.
        let dictionary = (0..k)
            .map(|_| r.string().map(Arc::<str>::from))
            .collect::<Result<Vec<_>>>()?;
        // Check the fixed-size remainder before allocating for it.
        let rest = n
            .checked_mul(8 + 8 * ncols)
            .ok_or_else(|| bad("row count too large"))?;
        if r.bytes.len() - r.pos != rest {
            return Err(bad(&format!(
                "expected {rest} bytes of rows, found {}",
                r.bytes.len() - r.pos
            )));
        }
        let datetime = (0..n)
            .map(|_| {
                let b = r.take(4)?;
                let year = i16::from_le_bytes([b[0], b[1]]);
                Date::new(year, b[2] as i8, b[3] as i8)
                    .map_err(|e| bad(&format!("invalid date {year}-{}-{}: {e}", b[2], b[3])))
            })
            .collect::<Result<Vec<_>>>()?;
        let instrument = (0..n)
            .map(|_| {
                let i = r.u32()? as usize;
                dictionary
                    .get(i)
                    .map(Arc::clone)
                    .ok_or_else(|| bad(&format!("instrument index {i} out of range")))
            })
            .collect::<Result<Vec<_>>>()?;
        let columns = names
            .into_iter()
            .map(|name| {
                let values = (0..n)
                    .map(|_| {
                        let b = r.take(8)?;
                        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((name, values))
            })
            .collect::<Result<Vec<_>>>()?;
        Frame::from_columns(datetime, instrument, columns)
    }
}

fn bad(message: &str) -> Error {
    Error::invalid_input(format!("bad frame encoding: {message}"))
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("frames have fewer than 2^32 columns and instruments");
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| bad("truncated"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| bad("a name is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use task_store::ErrorKind;

    use super::*;

    fn sample() -> Frame {
        let mut f = Frame::new(["score", "label"]).unwrap();
        f.push_row(date(2017, 1, 3), "SH600000", &[0.1 + 0.2, f64::NAN])
            .unwrap();
        f.push_row(date(2017, 1, 3), "SZ000001", &[-1e-300, 2.0])
            .unwrap();
        f.push_row(date(2017, 1, 4), "SH600000", &[f64::INFINITY, -0.0])
            .unwrap();
        f
    }

    #[test]
    fn encode_round_trips_bit_for_bit() {
        let f = sample();
        let back = Frame::decode(&f.encode()).unwrap();
        assert_eq!(back, f);
        for (a, b) in f.columns().iter().zip(back.columns()) {
            let bits = |c: &super::super::Column| -> Vec<u64> {
                c.values().iter().map(|v| v.to_bits()).collect()
            };
            assert_eq!(bits(a), bits(b));
        }
    }

    #[test]
    fn encode_layout_is_as_documented() {
        let mut f = Frame::new(["s"]).unwrap();
        f.push_row(date(2017, 1, 3), "X", &[1.5]).unwrap();
        let mut want = b"TPFR\x01".to_vec();
        want.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, b's']);
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, b'X']);
        want.extend_from_slice(&[0xe1, 0x07, 1, 3]);
        want.extend_from_slice(&[0, 0, 0, 0]);
        want.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(f.encode(), want);
    }

    #[test]
    fn encode_empty_frame_round_trips() {
        let f = Frame::new(["a", "b"]).unwrap();
        assert_eq!(Frame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn decode_rejects_malformed_input() {
        let good = sample().encode();
        let mut wrong_version = good.clone();
        wrong_version[4] = 2;
        let mut trailing = good.clone();
        trailing.push(0);
        let mut bad_date = Frame::new(["s"]).unwrap().encode();
        // Claim one row and append an impossible date, an index and a value.
        let rows_at = bad_date.len() - 12;
        bad_date[rows_at..rows_at + 8].copy_from_slice(&1u64.to_le_bytes());
        bad_date.extend_from_slice(&[0xe1, 0x07, 2, 30, 0, 0, 0, 0]);
        bad_date.extend_from_slice(&0f64.to_le_bytes());
        for bytes in [
            &b""[..],
            b"XXXX\x01",
            &wrong_version,
            &good[..good.len() - 1],
            &trailing,
            &bad_date,
        ] {
            assert_eq!(
                Frame::decode(bytes).unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
        }
    }
}
