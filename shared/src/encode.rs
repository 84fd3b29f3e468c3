//! The canonical byte encoding of everything that is hashed or signed.
//!
//! Rules (see `docs/protocol.md`): integers are fixed-width little-endian; a sequence is a `u32`
//! little-endian count followed by its items; an `Option` is a byte `0` (none) or `1` followed by
//! the value; fixed-size byte strings (hashes, keys, signatures) are written raw. Decoding is
//! strict: every byte must be consumed, and any other tag or a non-canonical value is an error, so
//! each value has exactly one encoding.
//!
//! The encoding is written out by hand on purpose: a consensus hash must never change because a
//! serialization library changed its format.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("unexpected end of input: needed {needed} more bytes")]
    UnexpectedEnd { needed: usize },
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    #[error("sequence of {len} items cannot fit in the remaining {remaining} bytes")]
    LengthTooLarge { len: u64, remaining: usize },
    #[error("invalid tag {tag} for {what}")]
    InvalidTag { what: &'static str, tag: u8 },
    #[error("invalid {0}")]
    InvalidValue(&'static str),
}

/// A type with a canonical byte encoding.
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);

    /// The number of bytes `encode` writes.
    fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.encode(&mut v);
        v.len()
    }
}

/// A type that can be read back from its canonical encoding.
pub trait Decode: Sized {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes a value to a fresh byte vector.
pub fn to_bytes<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    value.encode(&mut out);
    out
}

/// Decodes a value that must span `bytes` exactly.
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let value = T::decode(&mut r)?;
    match r.remaining() {
        0 => Ok(value),
        n => Err(DecodeError::TrailingBytes(n)),
    }
}

/// A cursor over bytes being decoded.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd { needed: n - self.remaining() });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Reads a sequence count and checks that `count * min_item_len` bytes remain, so a hostile
    /// count cannot make the decoder allocate memory the input cannot fill.
    pub fn seq_len(&mut self, min_item_len: usize) -> Result<usize, DecodeError> {
        let len = u32::decode(self)? as u64;
        let need = len.saturating_mul(min_item_len.max(1) as u64);
        if need > self.remaining() as u64 {
            return Err(DecodeError::LengthTooLarge { len, remaining: self.remaining() });
        }
        Ok(len as usize)
    }
}

impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

impl Decode for u8 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take(1)?[0])
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn encoded_len(&self) -> usize {
                core::mem::size_of::<$t>()
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.array()?))
            }
        }
    )*};
}
int_codec!(u16, u32, u64);

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn encoded_len(&self) -> usize {
        N
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        1 + self.as_ref().map_or(0, Encode::encoded_len)
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            tag => Err(DecodeError::InvalidTag { what: "option", tag }),
        }
    }
}

/// Writes a sequence: a `u32` count, then each item.
/// Serde in binary formats (the P2P frames) for a value of `N` fixed bytes: the bytes as they
/// are, with no length before them (human-readable formats, the JSON API, use hex instead).
pub mod fixed {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(bytes.len())?;
        for b in bytes {
            t.serialize_element(b)?;
        }
        t.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        struct Bytes<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for Bytes<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{N} bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
                let mut out = [0u8; N];
                for (i, b) in out.iter_mut().enumerate() {
                    *b = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        d.deserialize_tuple(N, Bytes::<N>)
    }
}

pub fn encode_seq<T: Encode>(items: &[T], out: &mut Vec<u8>) {
    let len = u32::try_from(items.len()).expect("sequence longer than u32::MAX items");
    len.encode(out);
    for item in items {
        item.encode(out);
    }
}

/// The encoded length of a sequence.
pub fn seq_len<T: Encode>(items: &[T]) -> usize {
    4 + items.iter().map(Encode::encoded_len).sum::<usize>()
}

/// Reads a sequence whose items each take at least `min_item_len` bytes.
pub fn decode_seq<T: Decode>(r: &mut Reader<'_>, min_item_len: usize) -> Result<Vec<T>, DecodeError> {
    let len = r.seq_len(min_item_len)?;
    let mut items = Vec::with_capacity(len);
    for _ in 0..len {
        items.push(T::decode(r)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_are_little_endian() {
        assert_eq!(to_bytes(&0x0102_0304u32), [4, 3, 2, 1]);
        assert_eq!(to_bytes(&1u64), [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(from_bytes::<u32>(&[1, 0, 0, 0, 9]), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn short_input_is_rejected() {
        assert_eq!(from_bytes::<u64>(&[1, 0]), Err(DecodeError::UnexpectedEnd { needed: 6 }));
    }

    #[test]
    fn option_tag_must_be_zero_or_one() {
        assert_eq!(
            from_bytes::<Option<u8>>(&[2, 0]),
            Err(DecodeError::InvalidTag { what: "option", tag: 2 })
        );
    }

    #[test]
    fn hostile_sequence_length_does_not_allocate() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert!(matches!(decode_seq::<u64>(&mut r, 8), Err(DecodeError::LengthTooLarge { .. })));
    }

    proptest! {
        #[test]
        fn u64_round_trips(v: u64) {
            prop_assert_eq!(from_bytes::<u64>(&to_bytes(&v)).unwrap(), v);
        }

        #[test]
        fn option_round_trips(v: Option<u32>) {
            let bytes = to_bytes(&v);
            prop_assert_eq!(bytes.len(), v.encoded_len());
            prop_assert_eq!(from_bytes::<Option<u32>>(&bytes).unwrap(), v);
        }
    }
}
