//! Socket.IO, default (JSON) parser: any sequence of text and binary frames
//! (see `split_frames` for how the input is cut into frames).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_proto::Parser;

fuzz_target!(|data: &[u8]| {
    sio_proto_fuzz::fuzz_decoder(Parser::Json, data);
});
