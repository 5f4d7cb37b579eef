//! The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.

/// Why a value is not in the Confluent wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer than 5 bytes.
    #[error(
        "value of {0} bytes is too short for the Confluent wire format (magic byte + 4-byte schema id)"
    )]
    TooShort(usize),
    /// The first byte is not 0.
    #[error("wrong magic byte {0:#04x} (expected 0x00: not Confluent-framed Avro)")]
    MagicByte(u8),
}

/// Splits a framed value into (schema id, Avro body).
pub fn split(value: &[u8]) -> Result<(u32, &[u8]), WireError> {
    if value.len() < 5 {
        return Err(WireError::TooShort(value.len()));
    }
    if value[0] != 0 {
        return Err(WireError::MagicByte(value[0]));
    }
    let id = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    Ok((id, &value[5..]))
}

/// Writes the header for `id` in front of an Avro body.
pub fn frame(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_frame() {
        let framed = frame(258, b"body");
        assert_eq!(framed[..5], [0, 0, 0, 1, 2]);
        assert_eq!(split(&framed), Ok((258, &b"body"[..])));
        assert_eq!(split(b"{\"a\""), Err(WireError::TooShort(4)));
        assert_eq!(split(b"{\"a\":1}"), Err(WireError::MagicByte(b'{')));
    }
}
