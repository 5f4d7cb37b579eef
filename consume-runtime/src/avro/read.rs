//! Reading Avro's binary encoding from a borrowed buffer, with every length checked against
//! the bytes left (a declared length can never make us allocate more than the message holds).

use super::DecodeError;
use super::plan::Skip;

pub(crate) struct Reader<'de> {
    buf: &'de [u8],
}

impl<'de> Reader<'de> {
    pub(crate) fn new(buf: &'de [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated {
                needed: n,
                left: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn boolean(&mut self) -> Result<bool, DecodeError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(DecodeError::Invalid(format!("boolean byte {b:#04x}"))),
        }
    }

    /// A zig-zag varint (Avro `long`).
    pub(crate) fn long(&mut self) -> Result<i64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let Some((&b, rest)) = self.buf.split_first() else {
                return Err(DecodeError::Truncated { needed: 1, left: 0 });
            };
            self.buf = rest;
            if shift == 63 && b > 1 {
                return Err(DecodeError::Invalid(
                    "varint longer than 64 bits".to_owned(),
                ));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(DecodeError::Invalid(
            "varint longer than 10 bytes".to_owned(),
        ))
    }

    pub(crate) fn int(&mut self) -> Result<i32, DecodeError> {
        let v = self.long()?;
        i32::try_from(v).map_err(|_| DecodeError::Invalid(format!("int out of range: {v}")))
    }

    pub(crate) fn float(&mut self) -> Result<f32, DecodeError> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn double(&mut self) -> Result<f64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A length: non-negative and no larger than the bytes left.
    pub(crate) fn len(&mut self) -> Result<usize, DecodeError> {
        let n = self.long()?;
        if n < 0 {
            return Err(DecodeError::Invalid(format!("negative length {n}")));
        }
        let n = n as u64;
        if n > self.buf.len() as u64 {
            return Err(DecodeError::LengthBeyondMessage {
                declared: n,
                left: self.buf.len(),
            });
        }
        Ok(n as usize)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'de [u8], DecodeError> {
        let n = self.len()?;
        self.take(n)
    }

    pub(crate) fn str(&mut self) -> Result<&'de str, DecodeError> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map_err(|e| DecodeError::Invalid(format!("string is not UTF-8: {e}")))
    }

    pub(crate) fn fixed(&mut self, n: usize) -> Result<&'de [u8], DecodeError> {
        self.take(n)
    }

    /// The item count of the next array/map block (0: end). A negative count is followed by
    /// the block's byte size, which we do not need.
    pub(crate) fn block(&mut self, zero_sized_items: bool) -> Result<usize, DecodeError> {
        let n = self.long()?;
        let count = if n < 0 {
            let _size = self.long()?;
            n.unsigned_abs()
        } else {
            n as u64
        };
        // Each item takes at least one byte unless the item type is empty on the wire.
        let limit = if zero_sized_items {
            MAX_EMPTY_ITEMS
        } else {
            self.buf.len() as u64
        };
        if count > limit {
            return Err(DecodeError::LengthBeyondMessage {
                declared: count,
                left: self.buf.len(),
            });
        }
        Ok(count as usize)
    }

    pub(crate) fn skip(&mut self, s: &Skip) -> Result<(), DecodeError> {
        match s {
            Skip::Null => {}
            Skip::Boolean => {
                self.take(1)?;
            }
            Skip::Int | Skip::Long => {
                self.long()?;
            }
            Skip::Float => {
                self.take(4)?;
            }
            Skip::Double => {
                self.take(8)?;
            }
            Skip::Bytes => {
                self.bytes()?;
            }
            Skip::Fixed(n) => {
                self.take(*n)?;
            }
            Skip::Array(item) => loop {
                let n = self.block(item.is_empty_on_wire())?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    self.skip(item)?;
                }
            },
            Skip::Map(value) => loop {
                let n = self.block(false)?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    self.bytes()?;
                    self.skip(value)?;
                }
            },
            Skip::Record(fields) => {
                for f in fields.iter() {
                    self.skip(f)?;
                }
            }
            Skip::Union(branches) => {
                let i = self.long()?;
                let b = usize::try_from(i)
                    .ok()
                    .and_then(|i| branches.get(i))
                    .ok_or(DecodeError::UnionBranch(i))?;
                self.skip(b)?;
            }
        }
        Ok(())
    }
}

/// Most items of a zero-byte type (e.g. `null`) an array may declare.
pub(crate) const MAX_EMPTY_ITEMS: u64 = 1 << 20;

impl Skip {
    fn is_empty_on_wire(&self) -> bool {
        match self {
            Skip::Null => true,
            Skip::Fixed(0) => true,
            Skip::Record(f) => f.iter().all(Skip::is_empty_on_wire),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints() {
        let cases: &[(&[u8], i64)] = &[
            (&[0x00], 0),
            (&[0x01], -1),
            (&[0x02], 1),
            (&[0x7f], -64),
            (&[0x80, 0x01], 64),
            (
                &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MAX,
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                i64::MIN,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                Reader::new(bytes).long().expect("valid"),
                *want,
                "{bytes:?}"
            );
        }
        assert!(Reader::new(&[0x80]).long().is_err(), "truncated");
        assert!(Reader::new(&[0xff; 11]).long().is_err(), "too long");
    }

    #[test]
    fn lengths_cannot_exceed_the_message() {
        // Declares a 2^40-byte string in a 7-byte message.
        let mut buf = vec![];
        let mut v: u64 = (1u64 << 40) << 1;
        while v >= 0x80 {
            buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        buf.push(v as u8);
        let err = Reader::new(&buf).bytes().expect_err("too long");
        assert!(
            matches!(err, DecodeError::LengthBeyondMessage { .. }),
            "{err}"
        );
        assert!(Reader::new(&[0x01]).bytes().is_err(), "negative length");
    }
}
