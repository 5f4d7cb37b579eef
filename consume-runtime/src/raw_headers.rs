//! Record headers as bytes, read from and written to librdkafka directly.
//!
//! Kafka header names are arbitrary bytes on the wire, but rdkafka's `Headers` API hands
//! names out as `&str` through `CStr::to_str().unwrap()`: a record whose header name is not
//! UTF-8 makes every reader of its headers panic, and a name that is not UTF-8 cannot be
//! written at all. A record carrying such a header must neither kill its partition worker
//! nor lose the header when it is dead-lettered, so this module (the only one in the
//! workspace allowed `unsafe`) reads names and values as bytes and writes them back as
//! bytes, through the same two librdkafka calls rdkafka itself uses.
//!
//! A name containing a NUL byte is cut at the NUL (librdkafka keeps names as C strings).

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::ptr;

use rdkafka::bindings as rd;
use rdkafka::message::{BorrowedHeaders, BorrowedMessage, OwnedHeaders};

/// Header `idx` of `msg` as `(name, value)` bytes (`None` value: a null header); `None`
/// past the last header.
pub(crate) fn get<'a>(
    msg: &'a BorrowedMessage<'_>,
    idx: usize,
) -> Option<(&'a [u8], Option<&'a [u8]>)> {
    let mut hdrs: *mut rd::rd_kafka_headers_t = ptr::null_mut();
    // SAFETY: `msg.ptr()` is a live message for as long as `msg` is borrowed. librdkafka
    // parses the headers once, keeps them in the message and returns a pointer to them
    // (or an error when there are none); they are freed with the message.
    let err = unsafe { rd::rd_kafka_message_headers(msg.ptr(), &mut hdrs) };
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || hdrs.is_null() {
        return None;
    }
    let (mut name, mut value, mut size) = (ptr::null(), ptr::null(), 0usize);
    // SAFETY: `hdrs` is the message's header list (above); the out-pointers are valid locals.
    let err = unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) };
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
        return None;
    }
    // SAFETY: librdkafka stores every name NUL-terminated and every value with its size, in
    // memory owned by the header list, which lives as long as the message (`'a`).
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    let value = (!value.is_null())
        // SAFETY: as above; `size` is the value's length in bytes.
        .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) });
    Some((name, value))
}

/// Headers to publish, from `(name, value)` bytes in order (`None` value: a null header).
pub(crate) fn owned<'h>(
    headers: impl ExactSizeIterator<Item = (&'h [u8], Option<&'h [u8]>)>,
) -> OwnedHeaders {
    let list = OwnedHeaders::new_with_capacity(headers.len());
    // rdkafka's `BorrowedHeaders` is a zero-sized view whose address *is* the native
    // `rd_kafka_headers_t*` (that is how rdkafka itself calls librdkafka with it). The
    // round-trip test in tests/runtime/hostile.rs publishes and reads back names that are
    // not UTF-8, so a change of that representation in rdkafka fails there.
    let native = ptr::from_ref::<BorrowedHeaders>(list.as_borrowed())
        .cast_mut()
        .cast::<rd::rd_kafka_headers_t>();
    for (name, value) in headers {
        let (vptr, vlen) = match value {
            Some(v) => (v.as_ptr().cast::<std::ffi::c_void>(), v.len() as isize),
            None => (ptr::null(), 0),
        };
        // SAFETY: `native` is the list `list` owns (alive for this call); librdkafka copies
        // `name_size` name bytes and `value_size` value bytes, so the slices need only live
        // for the call. Adding to a list only fails on a read-only list, which this is not.
        unsafe {
            rd::rd_kafka_header_add(
                native,
                name.as_ptr().cast::<std::ffi::c_char>(),
                name.len() as isize,
                vptr,
                vlen,
            );
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Headers as _;

    #[test]
    fn owned_headers_keep_bytes_names_and_null_values() {
        let list = super::owned(
            [
                (&b"plain"[..], Some(&b"v"[..])),
                (&b"empty-value"[..], Some(&b""[..])),
                (&b"null-value"[..], None),
            ]
            .into_iter(),
        );
        let got: Vec<(String, Option<Vec<u8>>)> = list
            .iter()
            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(
            got,
            vec![
                ("plain".to_owned(), Some(b"v".to_vec())),
                ("empty-value".to_owned(), Some(Vec::new())),
                ("null-value".to_owned(), None),
            ]
        );
        // A name that is not UTF-8 is stored byte for byte (read back by count only here:
        // rdkafka's own reader would panic on it, which is the point of this module).
        let bad = super::owned([(&[0xff, 0xfe, b'x'][..], Some(&b"1"[..]))].into_iter());
        assert_eq!(bad.count(), 1);
    }
}
